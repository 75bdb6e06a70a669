// The sender's page (/m/{id}). The manage token is in the fragment (after #),
// which browsers never send to the server on their own; this script sends it
// as a bearer token to the JSON API. It stays in the address bar so the page
// can be bookmarked and opened again.

import {
  $,
  NETWORK_MESSAGE,
  clearError,
  fitsHeader,
  formatUtc,
  messageOf,
  plural,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
} from "./common.js";

const app = $("app");
const secretId = app ? app.dataset.secretId || "" : "";
const apiUrl = `/api/v1/secrets/${encodeURIComponent(secretId)}`;
const token = readKey();

const MSG = {
  incomplete: "This manage link is incomplete: the part after # is missing. Copy the whole manage link.",
  gone: "This secret has expired and its record is deleted, or the manage link is incomplete.",
  confirm: "Delete this secret now? The link stops working immediately. This cannot be undone.",
};

const STATES = {
  live: "Waiting to be revealed",
  revealed: "Revealed — deleted from the server",
  revoked: "Deleted by you",
  destroyed: "Destroyed after too many wrong passphrases",
};

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
    tr.append(
      cell(formatUtc(view.at), "Time"),
      cell(view.ip || "—", "IP address"),
      cell(view.user_agent || "—", "Browser"),
    );
    rows.push(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = 3;
    td.className = "empty";
    td.textContent = "No one has revealed it yet.";
    tr.append(td);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

// Audit events of this secret, newest first, in words a sender reads.
const EVENTS = {
  "secret.created": "Created",
  "secret.viewed": "Link opened",
  "secret.revealed": "Revealed",
  "secret.passphrase_failed": "Wrong passphrase",
  "secret.destroyed": "Destroyed",
  "secret.revoked": "Deleted",
  "secret.expired": "Expired unread",
};

function renderEvents(events) {
  const tbody = $("event-log").tBodies[0];
  const rows = (Array.isArray(events) ? events : []).map((event) => {
    const tr = document.createElement("tr");
    tr.append(
      cell(formatUtc(event.at), "Time"),
      cell(EVENTS[event.kind] || String(event.kind || ""), "Event"),
      cell(event.actor || "—", "By"),
      cell(event.ip || "—", "IP address"),
    );
    return tr;
  });
  tbody.replaceChildren(...rows);
}

function render(data) {
  $("state").textContent = STATES[data.state] || String(data.state || "Unknown");
  $("created").textContent = formatUtc(data.created_at);
  $("expires").textContent = formatUtc(data.expires_at);

  const ended = typeof data.ended_at === "string" && data.ended_at !== "";
  $("ended").textContent = ended ? formatUtc(data.ended_at) : "";
  $("ended-row").hidden = !ended;

  const allowed = Number(data.views_allowed) || 0;
  const used = Math.max(0, allowed - (Number(data.views_remaining) || 0));
  $("views").textContent = `${used} of ${allowed} ${plural(allowed, "view", "views")} used`;

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
