/*
 * The probe tab: calls the real teams-js against whatever hosts it and shows (and exposes as
 * window.probeState, for browser tests) what came back.
 */
(function () {
  "use strict";
  const teams = window.microsoftTeams;
  const state = {initialized: false, context: null, theme: null, themeChanges: [], token: null, claims: null,
    saveHandler: false, saves: 0, authResult: null, authError: null, errors: []};
  window.probeState = state;

  const $ = (id) => document.getElementById(id);
  const show = (id, value) => {
    $(id).textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  };

  function fail(where, error) {
    state.errors.push(where + ": " + (error && error.message ? error.message : String(error)));
    show("errors", state.errors.join("\n"));
  }

  // The claims of a JWT, without verifying it (the server does that).
  function claimsOf(token) {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(payload), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function applyTheme(theme) {
    state.theme = theme;
    document.body.className = "theme-" + theme;
    show("theme", theme);
  }

  function registerConfig() {
    // As a configurable tab's config page: the app decides the content URL when the user presses Save.
    teams.pages.config.registerOnSaveHandler((saveEvent) => {
      state.saves += 1;
      teams.pages.config.setConfig({
        entityId: "probe",
        suggestedDisplayName: "Probe",
        contentUrl: window.location.origin + "/dev/host/probe?configured=1&locale={locale}&theme={theme}",
        websiteUrl: window.location.origin + "/dev/host/probe",
      }).then(() => saveEvent.notifySuccess(), (error) => saveEvent.notifyFailure(error.message));
    });
    state.saveHandler = true;
    teams.pages.config.setValidityState(true);
    show("config", "save handler registered, valid");
  }

  async function main() {
    await teams.app.initialize();
    state.initialized = true;
    show("init", "initialized");

    const context = await teams.app.getContext();
    state.context = context;
    document.documentElement.lang = context.app.locale;
    show("user", `${context.user.displayName} · ${context.user.id} · ${context.user.userPrincipalName}`);
    show("locale", context.app.locale);
    show("frame-context", context.page.frameContext + " · page " + context.page.id);
    show("team", context.team ? `${context.team.displayName} / ${context.channel && context.channel.displayName}` : "–");
    applyTheme(context.app.theme);
    teams.app.registerOnThemeChangeHandler((theme) => {
      state.themeChanges.push(theme);
      applyTheme(theme);
    });
    if (context.page.frameContext === "settings") registerConfig();
    $("auth-button").disabled = false;

    try {
      state.token = await teams.authentication.getAuthToken();
      state.claims = claimsOf(state.token);
      show("claims", state.claims);
    } catch (error) {
      fail("getAuthToken", error);
    }
    await teams.app.notifySuccess();
  }

  $("auth-button").addEventListener("click", () => {
    show("auth", "pop-up open…");
    // ?auth=failure makes the pop-up report notifyFailure("denied") instead of notifySuccess("ok").
    const failure = new URLSearchParams(window.location.search).get("auth") === "failure";
    const url = "/dev/host/probe-popup" + (failure ? "?outcome=failure" : "");
    teams.authentication.authenticate({url: url, width: 420, height: 320}).then(
      (result) => {
        state.authResult = result;
        show("auth", "result: " + result);
      },
      (error) => {
        state.authError = error.message;
        show("auth", "failed: " + error.message);
      });
  });

  main().catch((error) => {
    fail("initialize", error);
    if (state.initialized) teams.app.notifyFailure({reason: teams.app.FailedReason.Other, message: String(error)});
  });
})();
