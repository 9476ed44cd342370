/* End of the consent / sign-in pop-up: report to the tab through teams-js, or go home outside Teams.
   No inline script: the page's CSP allows scripts from /static only. */
(function () {
  "use strict";
  const script = document.currentScript;
  const outcome = script.dataset.outcome;
  const reason = script.dataset.reason || "failed";
  const home = script.dataset.home || "/";
  const teams = window.microsoftTeams;

  function standalone() {
    // Opened in a plain browser tab: continue to the app after a success, stay on the message otherwise.
    if (outcome === "success") {
      window.location.replace(home);
    }
  }

  if (!teams) {
    standalone();
    return;
  }
  // Opened by authentication.authenticate(), teams-js reaches the host (window.opener in Teams web, the native
  // bridge in the desktop and mobile clients); outside Teams initialize() never answers, hence the time-out.
  const timeout = new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), 3000));
  Promise.race([teams.app.initialize(), timeout]).then(() => {
    if (outcome === "success") {
      teams.authentication.notifySuccess("consented");
    } else {
      teams.authentication.notifyFailure(reason);
    }
  }, standalone);
})();
