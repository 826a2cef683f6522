/* The Service Accounts page: create / edit / rotate / delete modals, project hover cards, filters. */
(function () {
  "use strict";
  var LK = window.Lightkeeper;
  var PAGE = "/generalSettings/serviceAccounts";
  var ROLE_LABELS = {
    viewer: "Viewer", interactive_viewer: "Interactive viewer", editor: "Editor",
    developer: "Developer", admin: "Admin"
  };
  var MESSAGES = {
    description: "Description is required",
    permission: "Please select a permission set",
    addProject: "Add at least one project",
    pickProject: "Pick a project for each row",
    projectTwice: "Each project can only be added once"
  };

  var dialog = document.getElementById("sa-dialog");
  var form = document.getElementById("sa-form");
  var rowTemplate = document.getElementById("sa-project-row");
  var rowsBox = form.querySelector("[data-project-rows]");
  var roleSelect = document.getElementById("sa-role");
  var keepOption = roleSelect.querySelector("[data-keep-option]");
  var expiration = document.getElementById("sa-expiration");
  var mode = "create";
  var succeeded = false;

  /* ---- create / edit ---- */

  function setScope(scope) {
    form.querySelectorAll('input[name="scope"]').forEach(function (radio) { radio.checked = radio.value === scope; });
    form.querySelectorAll("[data-scope-section]").forEach(function (section) {
      section.hidden = section.getAttribute("data-scope-section") !== scope;
    });
    if (scope === "project" && !rowsBox.children.length) addProjectRow("", "viewer");
  }

  var rowCounter = 0;

  function addProjectRow(projectUuid, role) {
    var fragment = rowTemplate.content.cloneNode(true);
    var row = fragment.querySelector("[data-project-row]");
    rowCounter += 1;
    row.querySelector('[data-label-for="project"]').htmlFor = "sa-row-" + rowCounter + "-project";
    row.querySelector("[data-project-select]").id = "sa-row-" + rowCounter + "-project";
    row.querySelector('[data-label-for="role"]').htmlFor = "sa-row-" + rowCounter + "-role";
    row.querySelector("[data-project-role]").id = "sa-row-" + rowCounter + "-role";
    row.querySelector("[data-project-select]").value = projectUuid || "";
    row.querySelector("[data-project-role]").value = role || "viewer";
    rowsBox.appendChild(fragment);
    return row;
  }

  function projectRows() {
    return Array.prototype.slice.call(rowsBox.querySelectorAll("[data-project-row]"));
  }

  function prepare(newMode, opener) {
    LK.resetDialog(dialog);
    succeeded = false;
    mode = newMode;
    rowsBox.innerHTML = "";
    var title = dialog.querySelector("#sa-dialog-title");
    var submit = form.querySelector("[data-submit]");
    title.textContent = title.getAttribute("data-title-" + mode);
    submit.textContent = submit.getAttribute("data-label-" + mode);
    form.querySelectorAll("[data-create-only]").forEach(function (el) { el.hidden = mode !== "create"; });
    expiration.disabled = mode !== "create";
    keepOption.hidden = true;
    keepOption.disabled = true;
    setScope("organization");
  }

  function openCreate(opener) {
    prepare("create", opener);
    form.setAttribute("action", form.getAttribute("data-create-action"));
    LK.openDialog(dialog, opener);
  }

  function openEdit(row, opener) {
    prepare("edit", opener);
    var uuid = row.getAttribute("data-uuid");
    form.setAttribute("action", PAGE + "/" + uuid + "/edit");
    document.getElementById("sa-description").value = row.getAttribute("data-description");
    document.getElementById("sa-ip-ranges").value = row.getAttribute("data-ip-ranges") || "";
    var scope = row.getAttribute("data-scope");
    var role = row.getAttribute("data-role");
    if (role === "keep") {
      keepOption.hidden = false;
      keepOption.disabled = false;
      keepOption.textContent = "Keep current legacy scopes (" + row.getAttribute("data-legacy") + ")";
    }
    if (scope === "project") {
      setScope("project");
      rowsBox.innerHTML = "";
      LK.showError(form, "");
      fetchProjects(uuid).then(function (grants) {
        rowsBox.innerHTML = "";
        grants.forEach(function (grant) {
          addProjectRow(grant.projectUuid, grant.roleUuid ? "custom:" + grant.roleUuid : grant.role);
        });
        if (!grants.length) addProjectRow("", "viewer");
      }, function (error) { LK.showError(form, error.message); });
    } else {
      roleSelect.value = role || "";
    }
    LK.openDialog(dialog, opener);
  }

  function validate() {
    var problems = [];
    var description = document.getElementById("sa-description");
    if (!description.value.trim()) problems.push([MESSAGES.description, description]);
    var scope = form.querySelector('input[name="scope"]:checked').value;
    if (scope === "organization") {
      if (!roleSelect.value) problems.push([MESSAGES.permission, roleSelect]);
    } else {
      var rows = projectRows();
      var seen = {};
      if (!rows.length) problems.push([MESSAGES.addProject, form.querySelector("[data-add-project]")]);
      rows.forEach(function (row) {
        var project = row.querySelector("[data-project-select]");
        var role = row.querySelector("[data-project-role]");
        if (!project.value) problems.push([MESSAGES.pickProject, project]);
        else if (seen[project.value]) problems.push([MESSAGES.projectTwice, project]);
        seen[project.value] = true;
        if (!role.value) problems.push([MESSAGES.permission, role]);
      });
    }
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
    if (!problems.length) { LK.showError(form, ""); return true; }
    problems.forEach(function (problem) {
      if (problem[1] && problem[1].tagName !== "BUTTON") problem[1].setAttribute("aria-invalid", "true");
    });
    var unique = problems.map(function (p) { return p[0]; }).filter(function (m, i, all) { return all.indexOf(m) === i; });
    LK.showError(form, unique.join(". "));
    if (problems[0][1]) problems[0][1].focus();
    return false;
  }

  function showSuccess(container, token) {
    var view = container.querySelector("[data-success]");
    container.querySelector("form").hidden = true;
    view.hidden = false;
    var field = view.querySelector("[data-token-value]");
    field.value = token;
    field.focus();
    field.select();
    succeeded = true;
  }

  function submitWith(targetForm, container, onSuccess) {
    var submit = targetForm.querySelector("[data-submit]");
    submit.disabled = true;
    LK.showError(targetForm, "");
    LK.postForm(targetForm).then(function (data) {
      submit.disabled = false;
      onSuccess(data);
    }, function (error) {
      submit.disabled = false;
      LK.showError(targetForm, error.message);
      var box = targetForm.querySelector("[data-form-error]");
      if (box) box.scrollIntoView({ block: "nearest" });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!validate()) return;
    submitWith(form, dialog, function (data) {
      if (mode === "create") showSuccess(dialog, data.token);
      else { LK.closeDialog(dialog); window.location.assign(PAGE + "?notice=sa_updated"); }
    });
  });

  form.addEventListener("change", function (event) {
    if (event.target.name === "scope") setScope(event.target.value);
  });

  form.addEventListener("click", function (event) {
    if (event.target.closest("[data-add-project]")) {
      var row = addProjectRow("", "viewer");
      row.querySelector("[data-project-select]").focus();
    }
    var remove = event.target.closest("[data-remove-project]");
    if (remove) {
      var rowEl = remove.closest("[data-project-row]");
      var next = rowEl.nextElementSibling || rowEl.previousElementSibling;
      rowEl.remove();
      (next ? next.querySelector("[data-project-select]") : form.querySelector("[data-add-project]")).focus();
    }
  });

  /* After a success view, "Done" (or Escape) reloads the page, which never shows the token again. */
  document.querySelectorAll("dialog").forEach(function (el) {
    el.addEventListener("lk:closed", function () {
      el.querySelectorAll("[data-token-value]").forEach(function (field) { field.value = ""; });
      if (succeeded) { succeeded = false; window.location.assign(PAGE); }
    });
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-done]")) LK.closeDialog(event.target.closest("dialog"));
  });

  /* ---- rotate ---- */

  var rotateDialog = document.getElementById("sa-rotate-dialog");
  var rotateForm = document.getElementById("sa-rotate-form");

  function openRotate(row, opener) {
    LK.resetDialog(rotateDialog);
    succeeded = false;
    rotateForm.setAttribute("action", PAGE + "/" + row.getAttribute("data-uuid") + "/rotate");
    rotateDialog.querySelector("[data-rotate-description]").textContent = row.getAttribute("data-description");
    LK.openDialog(rotateDialog, opener);
  }

  rotateForm.addEventListener("submit", function (event) {
    event.preventDefault();
    submitWith(rotateForm, rotateDialog, function (data) {
      if (data.notice) rotateDialog.querySelector("[data-rotate-notice]").textContent = data.notice;
      showSuccess(rotateDialog, data.token);
    });
  });

  /* ---- trust policies ---- */

  var trustDialog = document.getElementById("sa-trust-dialog");
  var trustForm = document.getElementById("sa-trust-form");
  var issuerInput = document.getElementById("sa-trust-issuer");

  function setPreset(preset) {
    var ids = trustForm.querySelector("[data-preset-ids]");
    ids.hidden = preset === "custom";
    if (preset !== "custom") {
      issuerInput.value = issuerInput.getAttribute("data-issuer-" + preset);
      ["[data-first-label]", "[data-second-label]"].forEach(function (selector) {
        var label = trustForm.querySelector(selector);
        label.textContent = label.getAttribute("data-" + preset);
      });
    } else {
      issuerInput.value = "";
    }
  }

  function openTrust(row, opener) {
    LK.resetDialog(trustDialog);
    var uuid = row.getAttribute("data-uuid");
    trustDialog.querySelector("[data-trust-description]").textContent = row.getAttribute("data-description");
    trustDialog.querySelectorAll("[data-trust-list]").forEach(function (list) {
      list.hidden = list.getAttribute("data-trust-list") !== uuid;
    });
    trustForm.setAttribute("action", PAGE + "/" + uuid + "/trust-policies");
    trustForm.reset();
    setPreset("github");
    LK.openDialog(trustDialog, opener);
  }

  trustForm.addEventListener("change", function (event) {
    if (event.target.name === "preset") setPreset(event.target.value);
  });

  trustForm.addEventListener("submit", function (event) {
    event.preventDefault();
    submitWith(trustForm, trustDialog, function () {
      LK.closeDialog(trustDialog);
      window.location.assign(PAGE + "?notice=trust_policy_added");
    });
  });

  /* ---- delete ---- */

  var deleteDialog = document.getElementById("sa-delete-dialog");
  var deleteForm = document.getElementById("sa-delete-form");

  function openDelete(row, opener) {
    deleteForm.setAttribute("action", PAGE + "/" + row.getAttribute("data-uuid") + "/delete");
    deleteDialog.querySelector("[data-delete-description]").textContent = row.getAttribute("data-description");
    LK.openDialog(deleteDialog, opener);
  }

  /* ---- buttons and row menus ---- */

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-sa-create]")) { openCreate(target.closest("[data-sa-create]")); return; }
    var row = target.closest("[data-sa-row]");
    if (!row) return;
    var opener = row.querySelector("[data-menu-trigger]");
    if (target.closest("[data-sa-rotate]")) openRotate(row, opener);
    else if (target.closest("[data-sa-edit]")) openEdit(row, opener);
    else if (target.closest("[data-sa-trust]")) openTrust(row, opener);
    else if (target.closest("[data-sa-delete]")) openDelete(row, opener);
  });

  /* ---- project access hover cards (loaded on demand from the API) ---- */

  var cache = {};

  function fetchProjects(uuid) {
    if (!cache[uuid]) {
      cache[uuid] = fetch("/api/v1/service-accounts/" + encodeURIComponent(uuid) + "/projects", {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().catch(function () { return null; }).then(function (data) {
          if (response.ok && data && data.status === "ok") return data.results;
          delete cache[uuid];
          throw new Error((data && data.error && data.error.message) || "Could not load project access (HTTP " + response.status + ")");
        });
      }, function () {
        delete cache[uuid];
        throw new Error("Could not load project access: the server could not be reached");
      });
    }
    return cache[uuid];
  }

  function roleText(grant) {
    return grant.roleName || ROLE_LABELS[grant.role] || grant.role || "";
  }

  var hideTimer = null;

  function showCard(trigger) {
    clearTimeout(hideTimer);
    document.querySelectorAll("[data-project-access][aria-expanded=true]").forEach(function (other) {
      if (other !== trigger) hideCard(other);
    });
    var card = document.getElementById(trigger.getAttribute("aria-controls"));
    var body = card.querySelector("[data-hovercard-body]");
    card.hidden = false;
    LK.placeNear(card, trigger, "start");
    trigger.setAttribute("aria-expanded", "true");
    if (card.getAttribute("data-loaded")) return;
    fetchProjects(trigger.getAttribute("data-project-access")).then(function (grants) {
      var list = document.createElement("ul");
      grants.forEach(function (grant) {
        var item = document.createElement("li");
        item.textContent = grant.projectName + " \u2014 " + roleText(grant);
        list.appendChild(item);
      });
      body.textContent = "";
      if (grants.length) body.appendChild(list);
      else body.textContent = "No projects";
      card.setAttribute("data-loaded", "true");
      if (!card.hidden) LK.placeNear(card, trigger, "start");
    }, function (error) {
      body.textContent = error.message;
    });
  }

  function hideCard(trigger) {
    var card = document.getElementById(trigger.getAttribute("aria-controls"));
    if (card) card.hidden = true;
    trigger.setAttribute("aria-expanded", "false");
  }

  function replaceCards() {
    document.querySelectorAll("[data-project-access][aria-expanded=true]").forEach(function (trigger) {
      LK.placeNear(document.getElementById(trigger.getAttribute("aria-controls")), trigger, "start");
    });
  }
  window.addEventListener("scroll", replaceCards, true);
  window.addEventListener("resize", replaceCards);

  document.querySelectorAll("[data-project-access]").forEach(function (trigger) {
    var anchor = trigger.closest(".hovercard-anchor");
    anchor.addEventListener("mouseenter", function () { showCard(trigger); });
    anchor.addEventListener("mouseleave", function () {
      hideTimer = setTimeout(function () { hideCard(trigger); }, 150);
    });
    trigger.addEventListener("focus", function () { showCard(trigger); });
    trigger.addEventListener("blur", function () { hideCard(trigger); });
    trigger.addEventListener("click", function () {
      if (trigger.getAttribute("aria-expanded") === "true" && !trigger.matches(":hover")) hideCard(trigger);
      else showCard(trigger);
    });
    trigger.addEventListener("keydown", function (event) {
      if (event.key === "Escape") hideCard(trigger);
    });
  });

  /* ---- filters: applied as you type, kept in the address ---- */

  var filters = document.querySelector("[data-sa-filters]");
  if (filters) {
    var apply = function () {
      var search = filters.querySelector('[name="search"]').value.trim().toLowerCase();
      var status = (filters.querySelector('[name="status"]:checked') || { value: "all" }).value;
      var creator = filters.querySelector('[name="createdBy"]').value;
      var shown = 0;
      document.querySelectorAll("[data-sa-row]").forEach(function (row) {
        var ok = (!search || row.getAttribute("data-description").toLowerCase().indexOf(search) !== -1) &&
          (status === "all" || row.getAttribute("data-status") === status) &&
          (!creator || row.getAttribute("data-creator") === creator);
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      var none = document.querySelector("[data-sa-none]");
      if (none) none.hidden = shown > 0;
      var params = new URLSearchParams();
      if (search) params.set("search", filters.querySelector('[name="search"]').value.trim());
      if (status !== "all") params.set("status", status);
      if (creator) params.set("createdBy", creator);
      var query = params.toString();
      window.history.replaceState(null, "", PAGE + (query ? "?" + query : ""));
    };
    filters.addEventListener("input", apply);
    filters.addEventListener("change", apply);
    filters.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  }
})();
