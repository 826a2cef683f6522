/* The Personal access tokens page: the create modal shows the new token once. */
(function () {
  "use strict";
  var LK = window.Lightkeeper;
  var dialog = document.getElementById("pat-dialog");
  if (!dialog) return;
  var form = document.getElementById("pat-form");
  var succeeded = false;

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var description = document.getElementById("pat-description");
    if (!description.value.trim()) {
      description.setAttribute("aria-invalid", "true");
      LK.showError(form, "Description is required");
      description.focus();
      return;
    }
    var submit = form.querySelector("[data-submit]");
    submit.disabled = true;
    LK.postForm(form).then(function (data) {
      submit.disabled = false;
      form.hidden = true;
      var view = dialog.querySelector("[data-success]");
      view.hidden = false;
      var field = view.querySelector("[data-token-value]");
      field.value = data.token;
      field.focus();
      field.select();
      succeeded = true;
    }, function (error) {
      submit.disabled = false;
      LK.showError(form, error.message);
    });
  });

  dialog.addEventListener("lk:closed", function () {
    dialog.querySelectorAll("[data-token-value]").forEach(function (field) { field.value = ""; });
    if (succeeded) { succeeded = false; window.location.assign("/generalSettings/personalAccessTokens"); }
  });
  dialog.addEventListener("click", function (event) {
    if (event.target.closest("[data-done]")) LK.closeDialog(dialog);
  });
})();
