/* The probe's authentication pop-up: teams-js here talks to window.opener (the host), not to the tab. */
(function () {
  "use strict";
  const outcome = new URLSearchParams(window.location.search).get("outcome");
  const status = document.getElementById("popup-status");
  microsoftTeams.app.initialize().then(() => {
    if (outcome === "failure") {
      status.textContent = "Reporting failure";
      microsoftTeams.authentication.notifyFailure("denied");
    } else {
      status.textContent = "Reporting success";
      microsoftTeams.authentication.notifySuccess("ok");
    }
  }, (error) => {
    status.textContent = "initialize failed: " + error.message;
  });
})();
