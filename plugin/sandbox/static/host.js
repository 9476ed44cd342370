/*
 * Host side of the @microsoft/teams-js window.postMessage protocol, as teams-js 2.58 speaks it
 * (read from dist/esm/packages/teams-js/src/internal/communication.js, messageObjects.js, appHelpers.js,
 * handlers.js, public/authentication.js, public/pages/config.js):
 *   child -> host  {id, uuidAsString, func, args, timestamp, monotonicTimestamp, apiVersionTag, ...}
 *   host -> child  answer: {id, uuidAsString, args[, isPartialResponse]}; the child looks the callback up by
 *                  uuid (else by id) and resolves it with `args`
 *                  event:  {func, args} without a numeric id (themeChange, settings.save, ...)
 * The tab and the auth pop-up are same-origin, which teams-js accepts without validMessageOrigins.
 */
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("host-config").textContent);
  const frame = document.getElementById("tab-frame");
  const origin = window.location.origin;
  const NOT_SUPPORTED_ON_PLATFORM = 100; // teams-js ErrorCode
  // Legacy APIs whose promise reads [success, reason] (sendAndHandleStatusAndReason) rather than an SdkError.
  const STATUS_AND_REASON = new Set(["executeDeepLink", "navigateCrossDomain", "navigateBack", "navigateToTab",
    "pages.navigateToApp"]);

  const state = {
    theme: config.theme,
    frameContext: config.frameContext,
    context: Object.assign({}, config.context),
    settings: null, // what the tab stored with settings.setSettings / pages.config.setConfig
    handlers: new Set(), // registerHandler names of the current tab document
    saving: false,
    auth: null, // {request, popup, timer} while an authenticate pop-up is open
    token: null, // {value, expiresOn}: Teams caches the SSO token, so do we
  };

  // ---- helpers ----
  const $ = (id) => document.getElementById(id);
  const stamp = () => performance.now() + performance.timeOrigin;

  function contextFor(role) {
    return Object.assign({}, state.context, {
      theme: state.theme,
      frameContext: role === "popup" ? "authentication" : state.frameContext,
      userClickTime: Date.now(),
    });
  }

  // Fill Teams' contentUrl placeholders ({locale}, {theme}, {entityId}, {groupId}, ...) from the context.
  function fillUrl(template) {
    const c = contextFor("tab");
    return template.replace(/\{(\w+)\}/g, (match, key) =>
      c[key] === undefined || c[key] === null ? match : encodeURIComponent(String(c[key])));
  }

  function sameOrigin(url) {
    try {
      return new URL(url, window.location.href).origin === origin;
    } catch (e) {
      return false;
    }
  }

  function status(text, kind) {
    const el = $("app-status");
    el.textContent = text;
    el.dataset.kind = kind || "";
  }

  // ---- debug panel ----
  function brief(value) {
    const text = JSON.stringify(value, (key, v) =>
      typeof v === "string" && v.length > 80 ? v.slice(0, 40) + "…(" + v.length + ")" : v);
    return text === undefined ? "" : text.length > 300 ? text.slice(0, 300) + "…" : text;
  }

  function log(direction, role, func, args, note) {
    const list = $("debug-log");
    const item = document.createElement("li");
    item.className = direction;
    item.dataset.func = func;
    const time = new Date().toISOString().slice(11, 23);
    const arrow = direction === "in" ? role + " →" : direction === "out" ? "→ " + role : "!";
    item.textContent = `${time} ${arrow} ${func} ${brief(args)}${note ? "  [" + note + "]" : ""}`;
    list.prepend(item);
    while (list.children.length > 300) list.lastChild.remove();
  }

  // ---- sending ----
  function respond(target, request, args) {
    const message = {id: request.id, uuidAsString: request.uuidAsString, args: args, timestamp: Date.now(),
      monotonicTimestamp: stamp()};
    target.postMessage(message, origin);
    log("out", target === frame.contentWindow ? "tab" : "popup", request.func + " (answer)", args);
  }

  function sendEvent(func, args) {
    if (!frame.contentWindow) return;
    frame.contentWindow.postMessage({func: func, args: args, timestamp: Date.now(), monotonicTimestamp: stamp()},
      origin);
    log("out", "tab", func, args);
  }

  // ---- SSO ----
  async function mintToken(tenantId) {
    if (state.token && state.token.expiresOn - Date.now() > 5 * 60 * 1000 && !tenantId) return state.token.value;
    const response = await fetch(config.tokenUrl, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify({user: state.context.userObjectId, tenantId: tenantId || undefined}),
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.message || body.error || "token request failed");
    if (!tenantId) state.token = {value: body.token, expiresOn: body.expiresOn};
    return body.token;
  }

  // ---- authenticate pop-up ----
  function finishAuth(args) {
    const auth = state.auth;
    if (!auth) return;
    state.auth = null;
    clearInterval(auth.timer);
    respond(auth.source, auth.request, args);
  }

  function openAuthWindow(msg, source) {
    if (state.auth) {
      respond(source, msg, [false, "Another authentication window is already open"]);
      return;
    }
    const [url, width, height] = msg.args || [];
    if (!url || !sameOrigin(url)) {
      // The sandbox has no external IdP; everything it can show in a pop-up lives on this origin.
      respond(source, msg, [false, "The sandbox opens only same-origin authentication URLs"]);
      return;
    }
    const w = Math.min(width || 600, window.outerWidth), h = Math.min(height || 535, window.outerHeight);
    const left = window.screenX + (window.outerWidth - w) / 2, top = window.screenY + (window.outerHeight - h) / 2;
    const popup = window.open(url, "_blank", `width=${w},height=${h},left=${left},top=${top},popup=yes`);
    if (!popup) {
      respond(source, msg, [false, "FailedToOpenWindow"]);
      return;
    }
    state.auth = {request: msg, source: source, popup: popup, timer: 0};
    // Closing the pop-up without notifySuccess/notifyFailure reads as a cancellation, as in Teams.
    state.auth.timer = setInterval(() => {
      if (state.auth && state.auth.popup.closed) finishAuth([false, "CancelledByUser"]);
    }, 300);
  }

  // ---- config (settings) page ----
  function showConfigChrome(on) {
    $("stage").classList.toggle("config-mode", on);
  }

  function setValidity(valid) {
    $("save-button").disabled = !valid || state.saving;
    $("save-status").textContent = valid ? "" : "Waiting for the tab to become valid…";
  }

  function save() {
    state.saving = true;
    setValidity(false);
    $("save-status").textContent = "Saving…";
    sendEvent("settings.save", [{}]);
  }

  function saved() {
    state.saving = false;
    const settings = state.settings;
    if (!settings || !settings.contentUrl) {
      $("save-status").textContent = "The tab reported success but never called setConfig with a contentUrl.";
      status("Save incomplete", "error");
      return;
    }
    $("save-status").textContent = "Saved";
    $("notice").textContent = `Saved: ${settings.suggestedDisplayName || settings.entityId || "tab"}`;
    $("notice").hidden = false;
    // Teams now shows the configured tab: content frame context, the configured entity and URL.
    state.frameContext = "content";
    state.context.entityId = settings.entityId || "";
    $("tab-label").textContent = settings.suggestedDisplayName || "Team tab";
    showConfigChrome(false);
    document.body.dataset.saved = "true";
    load(settings.contentUrl);
  }

  // ---- message handlers: (msg, source, role) ----
  const HANDLERS = {
    initialize(msg, source, role) {
      if (role === "tab") state.handlers.clear(); // a new tab document starts over
      // [frameContext, hostClientType, runtimeConfig JSON, clientSupportedSDKVersion] (appHelpers.js)
      respond(source, msg, [role === "popup" ? "authentication" : state.frameContext, "web",
        JSON.stringify(config.runtime), "2.0.1"]);
    },
    getContext(msg, source, role) {
      respond(source, msg, [contextFor(role)]);
    },
    registerHandler(msg) {
      state.handlers.add(msg.args[0]); // one-way: teams-js waits for no answer
    },
    "appInitialization.appLoaded"() {
      status("Loaded", "");
    },
    "appInitialization.success"(msg, source) {
      status("Ready", "ok");
      respond(source, msg, []); // answered because runtime declares app.notifySuccessResponse
    },
    "appInitialization.failure"(msg) {
      const [reason, message] = msg.args || [];
      status("Failed: " + reason + (message ? " — " + message : ""), "error");
    },
    "appInitialization.expectedFailure"(msg) {
      const [reason, message] = msg.args || [];
      status("Expected failure: " + reason + (message ? " — " + message : ""), "error");
    },
    "authentication.getAuthToken"(msg, source) {
      const tenantId = (msg.args || [])[3];
      mintToken(tenantId).then(
        (token) => respond(source, msg, [true, token]),
        (error) => respond(source, msg, [false, error.message]));
    },
    "authentication.getUser"(msg, source) {
      const c = state.context;
      respond(source, msg, [true, {oid: c.userObjectId, tid: c.tid, upn: c.userPrincipalName, name: c.userDisplayName,
        preferred_username: c.userPrincipalName, login_hint: c.loginHint, dataResidency: "public"}]);
    },
    "authentication.authenticate"(msg, source) {
      openAuthWindow(msg, source);
    },
    "authentication.authenticate.success"(msg, source, role) {
      if (role === "popup") finishAuth([true, (msg.args || [])[0]]);
    },
    "authentication.authenticate.failure"(msg, source, role) {
      if (role === "popup") finishAuth([false, (msg.args || [])[0]]);
    },
    "settings.setValidityState"(msg) {
      setValidity(Boolean((msg.args || [])[0]));
    },
    "settings.setSettings"(msg, source) {
      const settings = (msg.args || [])[0] || {};
      if (settings.contentUrl && !sameOrigin(settings.contentUrl)) {
        respond(source, msg, [false, "contentUrl must be on the app's domain (validDomains)"]);
        return;
      }
      state.settings = Object.assign({}, state.settings, settings);
      respond(source, msg, [true]);
    },
    "settings.getSettings"(msg, source) {
      const c = state.context;
      respond(source, msg, [state.settings || {entityId: c.entityId, contentUrl: fillUrl(config.contentUrl)}]);
    },
    "settings.save.success"() {
      saved();
    },
    "settings.save.failure"(msg) {
      state.saving = false;
      $("save-status").textContent = "Save failed: " + ((msg.args || [])[0] || "no reason given");
      setValidity(true);
    },
    "settings.remove.success"() {},
    "settings.remove.failure"() {},
    readyToUnload() {},
  };

  function unknown(msg, source) {
    // Answer rather than leave the tab's promise hanging: an SdkError, or [false, reason] for legacy APIs.
    const message = msg.func + " is not implemented by the Ambassador host sandbox";
    respond(source, msg, STATUS_AND_REASON.has(msg.func) ? [false, message]
      : [{errorCode: NOT_SUPPORTED_ON_PLATFORM, message: message}]);
  }

  window.addEventListener("message", (event) => {
    const role = event.source && event.source === frame.contentWindow ? "tab"
      : state.auth && event.source === state.auth.popup ? "popup" : null;
    if (!role) return; // not from the tab or our pop-up (extensions, devtools, ...)
    const msg = event.data;
    if (event.origin !== origin) {
      log("error", role, "(dropped)", null, "message from unexpected origin " + event.origin);
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.func !== "string" || typeof msg.id !== "number") {
      log("error", role, "(dropped)", msg, "not a teams-js request");
      return;
    }
    const handler = Object.prototype.hasOwnProperty.call(HANDLERS, msg.func) ? HANDLERS[msg.func] : null;
    log("in", role, msg.func, msg.args, (msg.apiVersionTag || "") + (handler ? "" : " · not implemented"));
    if (!handler) {
      $("debug-log").firstChild.classList.add("unknown");
      unknown(msg, event.source);
      return;
    }
    handler(msg, event.source, role);
  });

  // ---- shell controls ----
  function load(template) {
    state.handlers.clear();
    status("Loading…", "");
    frame.src = fillUrl(template);
  }

  function applyTheme(theme) {
    state.theme = theme;
    document.body.className = "theme-" + theme;
    const url = new URL(window.location.href);
    url.searchParams.set("theme", theme);
    history.replaceState(null, "", url);
    sendEvent("themeChange", [theme]);
  }

  $("theme-select").addEventListener("change", (event) => applyTheme(event.target.value));
  for (const select of document.querySelectorAll("#switcher select[data-reload]")) {
    select.addEventListener("change", () => {
      // A new team needs that team's channels: drop the channel so the server picks the first one.
      if (select.name === "team" && document.querySelector("#switcher select[name=channel]")) {
        document.querySelector("#switcher select[name=channel]").disabled = true;
      }
      $("switcher").requestSubmit();
    });
  }
  $("switcher").addEventListener("submit", () => {
    const url = document.querySelector("#switcher input[name=url]");
    if (!url.value) url.disabled = true; // keep the address bar clean: no empty url=
  });
  $("save-button").addEventListener("click", save);
  $("log-clear").addEventListener("click", () => $("debug-log").replaceChildren());
  if (state.frameContext === "settings") setValidity(false);

  // ---- activity feed (Graph emulator): the signed-in person's feed as Teams shows it, then everyone else's ----
  function hostLink(webUrl) {
    // A deep link to one of the app's static tabs opens that tab here, for the same person, language and theme.
    const match = /^https:\/\/teams\.microsoft\.com\/l\/entity\/[^/]+\/([^/?]+)/.exec(webUrl || "");
    const tab = match && config.tabEntities[decodeURIComponent(match[1])];
    if (!tab) return null;
    const url = new URL(window.location.href);
    url.searchParams.set("tab", tab);
    url.searchParams.delete("url");
    return url.pathname + url.search;
  }

  function feedLine(entry, parts) {
    const item = document.createElement("li");
    item.dataset.type = entry.activityType || "";
    const time = document.createElement("time");
    time.textContent = (entry.at || "").slice(11, 19);
    item.append(time, " ", ...parts);
    return item;
  }

  function mine(entry) {
    const text = document.createElement("strong");
    text.textContent = entry.text || entry.activityType || "activity";
    const preview = document.createElement("span");
    preview.textContent = `${entry.preview || ""}${entry.updates ? " (updated)" : ""} `;
    const parts = [text, document.createElement("br"), preview];
    const href = hostLink(entry.webUrl);
    if (href) {
      const open = document.createElement("a");
      open.href = href;
      open.textContent = "Open";
      parts.push(open);
    }
    const item = feedLine(entry, parts);
    item.className = "mine";
    return item;
  }

  function other(entry) {
    const who = (entry.recipients || []).map((oid) => config.people[oid] || oid).join(", ");
    const head = document.createElement("strong");
    head.textContent = entry.activityType || "activity";
    const body = document.createElement("span");
    body.textContent = ` ${(entry.previewText && entry.previewText.content) || ""} → ${who}`;
    const item = feedLine(entry, [head, body]);
    item.className = "other";
    return item;
  }

  function renderFeed(data) {
    const items = [...(data.feed || []).map(mine), ...(data.others || []).map(other)];
    $("feed-list").replaceChildren(...items);
    $("feed-empty").hidden = items.length > 0;
  }

  function pollFeed() {
    fetch(config.activityUrl, {cache: "no-store"})
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(response.statusText))))
      .then((data) => {
        $("feed-panel").hidden = false;
        renderFeed(data);
        setTimeout(pollFeed, 2000);
      })
      .catch(() => {
        $("feed-panel").hidden = true; // the emulator went away: stop polling
      });
  }

  if (config.activityUrl) pollFeed();
  load(config.contentUrl);
})();
