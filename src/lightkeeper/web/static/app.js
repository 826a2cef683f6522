/* Lightkeeper web UI: small shared behaviours (dialogs, menus, copy, confirmations). No build step. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function visible(el) {
    return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  }

  function focusables(container) {
    return Array.prototype.filter.call(container.querySelectorAll(FOCUSABLE), function (el) {
      return visible(el) && !el.closest("[hidden]");
    });
  }

  var openers = new WeakMap();

  function openDialog(dialog, opener) {
    if (!dialog) return;
    openers.set(dialog, opener || document.activeElement);
    if (!dialog.open) dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || focusables(dialog).filter(function (el) {
      return !el.hasAttribute("data-close-dialog") || el.closest(".modal-actions");
    })[0];
    var preferred = dialog.querySelector("input:not([type=hidden]):not([readonly]), select, textarea");
    (preferred && visible(preferred) ? preferred : first || dialog).focus();
  }

  function closeDialog(dialog) {
    if (dialog && dialog.open) dialog.close();
  }

  document.addEventListener("close", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement)) return;
    var opener = openers.get(dialog);
    if (opener && document.contains(opener) && typeof opener.focus === "function") opener.focus();
    dialog.dispatchEvent(new CustomEvent("lk:closed"));
  }, true);

  /* Keep Tab inside an open modal (Escape closes it: the browser's own `cancel`). */
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") return;
    var dialog = document.querySelector("dialog[open]");
    if (!dialog) return;
    var items = focusables(dialog);
    if (!items.length) { event.preventDefault(); return; }
    var first = items[0], last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault(); first.focus();
    }
  });

  /* Popups (menus, hover cards) are placed in the viewport next to their trigger, so a
     scrolling table never clips them. */
  function placeNear(popup, anchor, align) {
    var rect = anchor.getBoundingClientRect();
    var width = popup.offsetWidth;
    var height = popup.offsetHeight;
    var margin = 8;
    var left = align === "end" ? rect.right - width : rect.left;
    left = Math.max(margin, Math.min(left, window.innerWidth - width - margin));
    var top = rect.bottom + 4;
    if (top + height > window.innerHeight - margin && rect.top - height - 4 > margin) {
      top = rect.top - height - 4;
    }
    popup.style.left = left + "px";
    popup.style.top = top + "px";
  }

  /* Row menus: a button that opens a small menu; arrows move, Escape closes. */
  function closeMenus(except) {
    document.querySelectorAll("[data-menu-trigger][aria-expanded=true]").forEach(function (trigger) {
      if (trigger === except) return;
      trigger.setAttribute("aria-expanded", "false");
      var menu = trigger.parentElement.querySelector("[role=menu]");
      if (menu) menu.hidden = true;
    });
  }

  function menuItems(menu) {
    return Array.prototype.slice.call(menu.querySelectorAll("[role=menuitem]"));
  }

  function toggleMenu(trigger, focusFirst) {
    var menu = trigger.parentElement.querySelector("[role=menu]");
    var open = trigger.getAttribute("aria-expanded") !== "true";
    closeMenus(trigger);
    trigger.setAttribute("aria-expanded", open ? "true" : "false");
    menu.hidden = !open;
    if (open) placeNear(menu, trigger, "end");
    if (open && focusFirst) { var items = menuItems(menu); if (items[0]) items[0].focus(); }
  }

  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("[data-menu-trigger]");
    if (trigger) { toggleMenu(trigger, event.detail === 0); return; }
    if (!event.target.closest("[role=menu]")) closeMenus(null);
    var item = event.target.closest("[role=menu] [role=menuitem]");
    if (item) closeMenus(null);
  });

  document.addEventListener("keydown", function (event) {
    var menu = event.target.closest && event.target.closest("[role=menu]");
    var trigger = event.target.closest && event.target.closest("[data-menu-trigger]");
    if (trigger && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      if (trigger.getAttribute("aria-expanded") !== "true") toggleMenu(trigger, true);
      return;
    }
    if (!menu) return;
    var items = menuItems(menu);
    var index = items.indexOf(document.activeElement);
    var owner = menu.parentElement.querySelector("[data-menu-trigger]");
    if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); items[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); items[items.length - 1].focus(); }
    else if (event.key === "Escape") { event.preventDefault(); closeMenus(null); if (owner) owner.focus(); }
    else if (event.key === "Tab") { closeMenus(null); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !document.querySelector("dialog[open]")) closeMenus(null);
  });
  function replaceMenus() {
    document.querySelectorAll("[data-menu-trigger][aria-expanded=true]").forEach(function (trigger) {
      placeNear(trigger.parentElement.querySelector("[role=menu]"), trigger, "end");
    });
  }
  window.addEventListener("resize", replaceMenus);
  window.addEventListener("scroll", replaceMenus, true);

  /* Open / close dialogs declared in the markup. */
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      resetDialog(dialog);
      openDialog(dialog, opener);
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) closeDialog(closer.closest("dialog"));
  });

  function resetDialog(dialog) {
    if (!dialog) return;
    dialog.querySelectorAll("form").forEach(function (form) { form.reset(); form.hidden = false; });
    dialog.querySelectorAll("[data-success]").forEach(function (el) { el.hidden = true; });
    dialog.querySelectorAll("[data-token-value]").forEach(function (el) { el.value = ""; });
    dialog.querySelectorAll("[data-form-error]").forEach(function (el) { el.hidden = true; el.textContent = ""; });
    dialog.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  /* Copy buttons: copy the named field, say so, keep focus where it is. */
  function copyText(input) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(input.value);
    }
    input.select();
    try { document.execCommand("copy"); } catch (e) { /* selection is enough */ }
    return Promise.resolve();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    copyText(input).then(function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    }, function () {
      input.select();
      button.textContent = "Press Ctrl+C";
    });
  });

  /* Confirmation before a destructive form post. */
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm-delete]");
    if (!button) return;
    var dialog = document.getElementById("confirm-delete-dialog");
    if (!dialog) return;
    var description = button.getAttribute("data-description") || "";
    dialog.querySelector("[data-confirm-form]").setAttribute("action", button.getAttribute("data-action"));
    dialog.querySelector("[data-confirm-title]").textContent = button.getAttribute("data-confirm-title") || "Delete?";
    dialog.querySelector("[data-confirm-message]").textContent = button.getAttribute("data-confirm-message") ||
      'Are you sure you want to delete "' + description + '"? This cannot be undone.';
    dialog.querySelector("[data-confirm-button]").textContent = button.getAttribute("data-confirm-label") || "Delete";
    openDialog(dialog, button);
  });

  /* Post a form with fetch; the server answers JSON {status, ..., error: {message}}. */
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function postForm(form, action) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(action || form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken() }
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = JSON.parse(text); } catch (e) { data = null; }
        if (response.ok && data && data.status === "ok") return data;
        var message = data && data.error && data.error.message;
        if (!message) {
          message = response.status === 401 ? "Your session has ended: log in again." :
            "The server could not complete this request (HTTP " + response.status + "). Try again.";
        }
        var error = new Error(message);
        error.field = data && data.error ? data.error.field : null;
        error.status = response.status;
        throw error;
      });
    }, function () {
      throw new Error("The server could not be reached. Check your connection and try again.");
    });
  }

  function showError(container, message) {
    var box = container.querySelector("[data-form-error]");
    if (!box) return;
    box.textContent = message;
    box.hidden = !message;
  }

  window.Lightkeeper = {
    openDialog: openDialog,
    placeNear: placeNear,
    closeDialog: closeDialog,
    resetDialog: resetDialog,
    postForm: postForm,
    showError: showError,
    csrfToken: csrfToken
  };
})();

// Projects settings, warehouse connection: show only the fields of the chosen warehouse type
// (without JavaScript both sets show, and the server reads only the chosen type's fields).
(function () {
  document.querySelectorAll("[data-warehouse-form]").forEach(function (form) {
    var select = form.querySelector("[data-warehouse-type]");
    function sync() {
      form.querySelectorAll("[data-warehouse-fields]").forEach(function (set) {
        var chosen = set.getAttribute("data-warehouse-fields") === select.value;
        set.hidden = !chosen;
        set.disabled = !chosen;
      });
    }
    select.addEventListener("change", sync);
    sync();
  });
})();
