/*
 * The share page: pick a library item or paste a link, write a personal note with live feedback from the
 * classifier (a debounced preview call), choose a Teams channel, a Viva Engage community or a copy for LinkedIn/X,
 * and share; beside it the knowledge feed on the person's topics and their success stories.
 */
import {$, TabProblem, api, fillList, formatDate, fromTemplate, run, t} from "./common.js";

const PREVIEW_DELAY = 500;
const NOT_ENROLLED = ["not_enrolled", "consent_needed"];
// shareKey: the idempotency key of the share being composed, sent again on a retry so it is never posted twice.
const state = {items: new Map(), targets: [], enrolled: true, feedPage: 1, timer: null, seq: 0, busy: false,
  shareKey: null};

// ---- helpers ----

function pageUrl(path) {
  const here = new URLSearchParams(window.location.search);
  const url = new URL(path, window.location.origin);
  ["locale", "theme"].forEach((name) => {
    if (here.get(name)) url.searchParams.set(name, here.get(name));
  });
  return url.pathname + url.search;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function fieldError(id, message) {
  const error = $(id);
  error.textContent = message || "";
  error.hidden = !message;
  const input = document.querySelector(`[aria-describedby~="${id}"]`);
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function newShareKey() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function problemMessage(error) {
  if (error instanceof TabProblem && error.kind === "offline") return t("offline_action");
  return (error && error.detail && error.detail.message) || t("action_failed");
}

// ---- composer ----

function source() {
  return document.querySelector('input[name="source"]:checked').value;
}

function draft() {
  const note = $("share-note").value;
  if (source() === "item") {
    const id = Number($("share-item").value);
    return id ? {item_id: id, note: note} : null;
  }
  const url = $("share-url").value.trim();
  return url ? {url: url, note: note} : null;
}

const SHARE_FIELDS = {item_id: "share-item-error", url: "share-url-error", note: "share-note-error"};

function clearShareErrors() {
  [...Object.values(SHARE_FIELDS), "share-target-error"].forEach((id) => fieldError(id, ""));
}

function showShareError(error) {
  const field = error && error.detail && error.detail.field;
  if (field && field.startsWith("target")) fieldError("share-target-error", problemMessage(error));
  else if (field && SHARE_FIELDS[field]) fieldError(SHARE_FIELDS[field], problemMessage(error));
  else $("share-status").textContent = problemMessage(error);
}

function renderFeedback(answer) {
  const box = $("share-feedback");
  if (!answer) {
    box.dataset.state = "empty";
    $("share-verdict").textContent = "";
    $("share-words").textContent = "";
    fillList("share-hints", []);
    return;
  }
  box.dataset.state = answer.good ? "good" : "improve";
  $("share-verdict").textContent = t(answer.good ? "verdict_good" : "verdict_improve");
  $("share-words").textContent = t("words", {count: answer.own_words, min: answer.min_words});
  fillList("share-hints", answer.hints.filter((hint) => hint.code !== "good").map((hint) => element("li", hint.message)));
}

async function preview() {
  const body = draft();
  const seq = ++state.seq;
  if (!body) {
    renderFeedback(null);
    return;
  }
  try {
    const answer = await api("/api/me/share/preview", {method: "POST", body: body});
    if (seq !== state.seq) return; // a newer keystroke already asked again
    clearShareErrors();
    renderFeedback(answer);
  } catch (error) {
    if (seq !== state.seq) return;
    renderFeedback(null);
    if (error.detail && error.detail.field) showShareError(error);
  }
}

function schedulePreview() {
  clearTimeout(state.timer);
  $("share-verdict").textContent = draft() ? t("checking") : "";
  state.timer = setTimeout(preview, PREVIEW_DELAY);
}

function showSource() {
  const fromLibrary = source() === "item";
  $("item-field").hidden = !fromLibrary;
  $("url-field").hidden = fromLibrary;
  schedulePreview();
}

function showItemSummary() {
  const item = state.items.get(Number($("share-item").value));
  $("share-item-summary").textContent = item ? item.display_summary : "";
}

function fillItems(items) {
  items.forEach((item) => state.items.set(item.id, item));
  const select = $("share-item");
  const chosen = select.value;
  const options = [element("option", t("no_item"))];
  options[0].value = "";
  state.items.forEach((item) => {
    const option = element("option", item.display_title);
    option.value = String(item.id);
    options.push(option);
  });
  select.replaceChildren(...options);
  select.value = chosen;
  showItemSummary();
}

function fillTargets(targets) {
  state.targets = [];
  const groups = [];
  const add = (label, entries) => {
    if (!entries.length) return;
    const group = document.createElement("optgroup");
    group.label = label;
    entries.forEach(([name, target]) => {
      const option = element("option", name);
      option.value = String(state.targets.push(target) - 1);
      group.append(option);
    });
    groups.push(group);
  };
  add(t("group_teams"), (targets.channels || []).map((c) => [c.name, c]));
  add(t("group_yammer"), (targets.communities || []).map((c) => [c.name, c]));
  add(t("group_copy"), ["linkedin", "x"].map((network) => [t("copy_for", {network: t("network_" + network)}),
    {type: "copy", network: network}]));
  $("share-target").replaceChildren(...groups);
}

function chosenTarget() {
  const target = state.targets[Number($("share-target").value)];
  if (!target) return null;
  if (target.type === "teams") return {type: "teams", team_id: target.team_id, channel_id: target.channel_id};
  if (target.type === "yammer") return {type: "yammer", community_id: target.community_id};
  return {type: "copy", network: target.network};
}

async function submitShare(event) {
  event.preventDefault();
  if (state.busy) return;
  clearShareErrors();
  $("share-open").hidden = true;
  $("copy-field").hidden = true;
  const body = draft();
  const target = chosenTarget();
  if (!body) {
    fieldError(source() === "item" ? "share-item-error" : "share-url-error", t("pick_first"));
    $(source() === "item" ? "share-item" : "share-url").focus();
    return;
  }
  if (!target) {
    fieldError("share-target-error", t("pick_target"));
    $("share-target").focus();
    return;
  }
  state.busy = true;
  // One key per share: kept after a failure or a lost answer (the retry then cannot post twice), new once posted.
  state.shareKey = state.shareKey || newShareKey();
  const button = $("share-post");
  button.setAttribute("disabled", "");
  $("share-status").textContent = t("posting");
  try {
    const answer = await api("/api/me/share", {method: "POST",
      body: Object.assign({target: target, idempotency_key: state.shareKey}, body)});
    if (answer.status === "posted") {
      state.shareKey = null;
      $("share-status").textContent = t("posted", {place: answer.place});
      if (answer.web_url) {
        $("share-open-link").href = answer.web_url;
        $("share-open-link").textContent = t("open_post");
        $("share-open").hidden = false;
      }
      $("share-note").value = "";
      renderFeedback(null);
    } else {
      const network = t("network_" + answer.network);
      $("share-status").textContent = answer.too_long
        ? t("copy_too_long", {length: answer.length, limit: answer.limit})
        : t("copy_ready", {network: network});
      $("copy-text").value = answer.text;
      $("copy-field").hidden = false;
      $("copy-text").focus();
      $("copy-text").select();
    }
  } catch (error) {
    // The key already posted another version of this share (its answer was lost): the next try is a new share.
    if (error instanceof TabProblem && error.kind === "idempotency_key_reused") state.shareKey = null;
    $("share-status").textContent = "";
    showShareError(error);
  } finally {
    state.busy = false;
    button.removeAttribute("disabled");
  }
}

async function copyText() {
  const text = $("copy-text");
  try {
    await navigator.clipboard.writeText(text.value);
    $("share-status").textContent = t("copied");
  } catch (error) {
    text.focus();
    text.select();
    $("share-status").textContent = t("copy_failed");
  }
}

function pick(item) {
  fillItems([item]);
  document.querySelector('input[name="source"][value="item"]').checked = true;
  showSource();
  $("share-item").value = String(item.id);
  showItemSummary();
  schedulePreview();
  $("share-note").focus();
}

// ---- knowledge feed ----

function feedEntry(entry) {
  const node = fromTemplate("feed-item-template");
  const link = node.querySelector(".feed-title a");
  const action = node.querySelector(".feed-action");
  const when = formatDate(entry.at, {day: "numeric", month: "short", hour: "2-digit", minute: "2-digit"});
  if (entry.kind === "item") {
    node.querySelector(".feed-kind").textContent = entry.topics.map((topic) => "#" + topic).join(" ");
    link.textContent = entry.display_title;
    link.href = entry.url;
    node.querySelector(".feed-summary").textContent = entry.display_summary;
    node.querySelector(".feed-meta").textContent = when;
    action.textContent = t("feed_share_this");
    action.addEventListener("click", () => pick(entry));
  } else {
    node.querySelector(".feed-kind").textContent = t("feed_shared", {name: entry.author.name || "?"});
    link.textContent = t(entry.source === "yammer" ? "feed_open_engage" : "feed_open");
    if (entry.link) link.href = entry.link;
    node.querySelector(".feed-summary").remove();
    const meta = [entry.place ? t("feed_in", {place: entry.place}) : "", when,
      entry.topics.map((topic) => "#" + topic).join(" ")].filter(Boolean);
    node.querySelector(".feed-meta").textContent = meta.join(" · ");
    action.parentElement.remove();
  }
  return node;
}

async function loadFeed(page) {
  const answer = await api(`/api/me/feed?page=${page}&size=10`);
  state.feedPage = page;
  const nodes = answer.entries.map(feedEntry);
  if (page === 1) fillList("feed", nodes);
  else $("feed").append(...nodes);
  $("feed-topics").textContent = answer.topics.length ? t("feed_topics", {topics: answer.topics.join(", ")}) : "";
  const note = $("feed-note");
  note.hidden = answer.topics.length > 0 && (answer.entries.length > 0 || page > 1);
  note.textContent = answer.topics.length ? t("feed_empty") : t("feed_no_topics");
  $("feed-more").hidden = !answer.has_more;
}

// ---- success stories ----

function storyNode(story) {
  const item = element("li");
  item.append(element("p", t("story_type_" + story.type), "feed-kind muted"));
  item.append(element("p", story.text));
  const flags = [formatDate(story.created_at, {day: "numeric", month: "long"})];
  if (story.shareable) flags.push(t("story_shown"));
  if (story.featured) flags.push(t("story_featured"));
  item.append(element("p", flags.join(" · "), "feed-meta muted"));
  return item;
}

async function loadStories() {
  const answer = await api("/api/me/stories");
  fillList("story-list", answer.stories.map(storyNode));
}

async function submitStory(event) {
  event.preventDefault();
  ["story-text-error", "story-link-error"].forEach((id) => fieldError(id, ""));
  const button = $("story-save");
  button.setAttribute("disabled", "");
  $("story-status").textContent = t("saving");
  const body = {type: $("story-type").value, text: $("story-text").value, shareable: $("story-shareable").checked};
  if ($("story-link").value.trim()) body.link = $("story-link").value.trim();
  try {
    await api("/api/me/stories", {method: "POST", body: body});
    $("story-form").reset();
    $("story-status").textContent = t("story_saved");
    await loadStories();
  } catch (error) {
    const field = error.detail && error.detail.field;
    $("story-status").textContent = "";
    if (field === "text" || field === "link") {
      fieldError(`story-${field}-error`, problemMessage(error));
      $(`story-${field}`).focus();
    } else {
      $("story-status").textContent = problemMessage(error);
    }
  } finally {
    button.removeAttribute("disabled");
  }
}

// ---- start ----

function wire() {
  $("back-link").href = pageUrl("/tabs/personal");
  document.querySelectorAll('input[name="source"]').forEach((radio) => radio.addEventListener("change", showSource));
  $("share-item").addEventListener("change", () => {
    showItemSummary();
    schedulePreview();
  });
  $("share-url").addEventListener("input", schedulePreview);
  $("share-note").addEventListener("input", schedulePreview);
  $("share-form").addEventListener("submit", submitShare);
  $("copy-button").addEventListener("click", copyText);
  $("feed-more").addEventListener("click", () => loadFeed(state.feedPage + 1).catch((error) => {
    $("page-status").textContent = problemMessage(error);
  }));
  $("story-form").addEventListener("submit", submitStory);
}

let wired = false;

run(async () => {
  if (!wired) {
    wire();
    wired = true;
  }
  const library = await api("/api/library?size=50");
  fillItems(library.items);
  let targets = {channels: [], communities: []};
  try {
    targets = await api("/api/me/share/targets");
    state.enrolled = true;
  } catch (error) {
    if (!(error instanceof TabProblem) || !NOT_ENROLLED.includes(error.kind)) throw error;
    state.enrolled = false;
  }
  fillTargets(targets);
  $("page-status").textContent = state.enrolled ? "" : t("not_enrolled");
  $("feed").closest("section").hidden = !state.enrolled;
  $("stories").hidden = !state.enrolled;
  if (state.enrolled) await Promise.all([loadFeed(1), loadStories()]);
  renderFeedback(null);
});
