// The sender's page (/m/{id}). The manage token is in the fragment (after #),
// which browsers never send to the server on their own; this script sends it
// as a bearer token to the JSON API. It stays in the address bar so the page
// can be bookmarked and opened again.

import {
  $,
  NETWORK_MESSAGE,
  clearError,
  describeBrowser,
  fitsHeader,
  formatEvent,
  formatExpiry,
  messageOf,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
  t,
  tp,
} from "./common.js";

const app = $("app");
const secretId = app ? app.dataset.secretId || "" : "";
const apiUrl = `/api/v1/secrets/${encodeURIComponent(secretId)}`;
const token = readKey();

const MSG = {
  incomplete: t("manage-incomplete"),
  gone: t("manage-gone"),
  confirm: t("confirm-delete"),
};

const STATES = {
  live: t("state-live"),
  revealed: t("state-revealed"),
  revoked: t("state-revoked"),
  destroyed: t("state-destroyed"),
};

// Column captions, from the table's own headings (which are in the page's
// language); used as labels when rows become cards on a phone.
const caption = (table, index) => $(table).tHead.rows[0].cells[index].textContent;

// ---- Page state -----------------------------------------------------

function showGone(message) {
  clearError();
  $("loading").hidden = true;
  $("status").hidden = true;
  $("gone-message").textContent = message;
  $("gone").hidden = false;
}

// ---- API --------------------------------------------------------------

// Every call to the API carries the manage token.
function withToken(options = {}) {
  return { ...options, headers: { Authorization: `Bearer ${token}`, ...options.headers } };
}

// ---- Rendering --------------------------------------------------------

function cell(text, label) {
  const td = document.createElement("td");
  td.textContent = text;
  // Used as a caption when the table is stacked on narrow screens.
  td.dataset.label = label;
  return td;
}

function renderLog(views) {
  const tbody = $("view-log").tBodies[0];
  const rows = [];
  for (const view of Array.isArray(views) ? views : []) {
    const tr = document.createElement("tr");
    const browser = describeBrowser(view.user_agent);
    const agent = cell(browser || "—", caption("view-log", 2));
    if (view.user_agent) {
      agent.title = view.user_agent;
    }
    tr.append(cell(formatEvent(view.at), caption("view-log", 0)), cell(view.ip || "—", caption("view-log", 1)), agent);
    rows.push(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 3;
    td.className = "empty";
    td.textContent = t("no-reveals");
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

// Audit events of this secret, newest first, in words a sender reads.
const EVENTS = {
  "secret.created": t("event-created"),
  "secret.viewed": t("event-viewed"),
  "secret.revealed": t("event-revealed"),
  "secret.passphrase_failed": t("event-passphrase-failed"),
  "secret.destroyed": t("event-destroyed"),
  "secret.revoked": t("event-revoked"),
  "secret.expired": t("event-expired"),
};

// Who did it, as the sender reads it: "you" for the sender throughout.
function actorName(event) {
  const actor = String(event.actor || "");
  if (actor === "sender" || event.kind === "secret.created") {
    return t("you");
  }
  if (actor === "link holder" || actor === "anonymous") {
    return t("someone");
  }
  if (actor.startsWith("staff:")) {
    return actor.slice("staff:".length);
  }
  return "—";
}

function renderEvents(events) {
  const tbody = $("event-log").tBodies[0];
  const rows = (Array.isArray(events) ? events : []).map((event) => {
    const tr = document.createElement("tr");
    tr.append(
      cell(formatEvent(event.at), caption("event-log", 0)),
      cell(EVENTS[event.kind] || String(event.kind || ""), caption("event-log", 1)),
      cell(actorName(event), caption("event-log", 2)),
      cell(event.ip || "—", caption("event-log", 3)),
    );
    return tr;
  });
  tbody.replaceChildren(...rows);
}

function render(data) {
  // The sender's private label: only this page, opened with the manage token, has it.
  const label = typeof data.label === "string" ? data.label : "";
  $("label").textContent = label;
  $("label-row").hidden = label === "";
  $("state").textContent = STATES[data.state] || String(data.state || t("unknown-time"));
  $("created").textContent = formatEvent(data.created_at);
  $("expires").textContent = formatExpiry(data.expires_at);

  const ended = typeof data.ended_at === "string" && data.ended_at !== "";
  $("ended").textContent = ended ? formatEvent(data.ended_at) : "";
  $("ended-row").hidden = !ended;

  const allowed = Number(data.views_allowed) || 0;
  const used = Math.max(0, allowed - (Number(data.views_remaining) || 0));
  $("views").textContent = tp("views-used", allowed, { used, allowed });

  const failures = Number(data.failed_passphrases) || 0;
  $("failed").textContent = String(failures);
  $("failed-row").hidden = failures === 0;

  renderLog(data.views);
  renderEvents(data.events);

  const revoke = $("revoke");
  revoke.hidden = data.state !== "live";
  revoke.disabled = false;

  $("loading").hidden = true;
  $("gone").hidden = true;
  $("status").hidden = false;
}

// ---- Loading ------------------------------------------------------------

async function load() {
  if (token === null) {
    showGone(MSG.incomplete);
    return;
  }
  if (secretId === "" || !fitsHeader(token)) {
    showGone(MSG.gone);
    return;
  }

  let result;
  try {
    result = await request(`${apiUrl}/status`, withToken());
  } catch {
    $("loading").hidden = true;
    showError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  if (status === 200 && body) {
    clearError();
    render(body);
  } else if (status === 404) {
    showGone(MSG.gone);
  } else {
    $("loading").hidden = true;
    showError(messageOf(body));
  }
}

// ---- Actions ------------------------------------------------------------

const refresh = $("refresh");
refresh.addEventListener("click", async () => {
  refresh.disabled = true;
  try {
    await load();
  } finally {
    refresh.disabled = false;
  }
});

const revoke = $("revoke");
revoke.addEventListener("click", async () => {
  if (!window.confirm(MSG.confirm)) {
    return;
  }
  clearError();
  revoke.disabled = true;

  let result;
  try {
    result = await request(apiUrl, withToken({ method: "DELETE" }));
  } catch {
    revoke.disabled = false;
    showError(NETWORK_MESSAGE);
    return;
  }

  if (result.status === 204) {
    await load();
    $("state").focus();
  } else if (result.status === 404) {
    showGone(MSG.gone);
  } else {
    revoke.disabled = false;
    showError(messageOf(result.body));
  }
});

reloadWhenLinkChanges();

load();
