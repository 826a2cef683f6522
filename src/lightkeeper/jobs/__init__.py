"""Jobs: work a client starts and then polls (validation, content copies), one table for all."""
