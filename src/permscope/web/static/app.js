// permscope web UI: progressive enhancement only; every page works without this file.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  // A filter's <select data-autosubmit> applies itself when changed (the form's button still works without JS).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) {
        select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
      }
    });
  });

  // A form with data-confirm="question" asks before it is sent (the server checks everything anyway).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // A button with data-copy="text" copies its text to the clipboard and says so.
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!navigator.clipboard) {
        return;
      }
      navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });

  // A form sent once shows it: its submit buttons are disabled until the next page loads.
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return;
      }
      form.querySelectorAll("button[type='submit']").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
});

// A page shown again from the back/forward cache gets its buttons back.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[method='post'] button[type='submit']").forEach(function (button) {
    button.disabled = false;
  });
});
