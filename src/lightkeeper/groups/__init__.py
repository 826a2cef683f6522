"""Groups: named sets of people whose project and space access adds to each member's own."""
