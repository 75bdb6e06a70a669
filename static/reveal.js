// The recipient's page (/s/{id}). The decryption key is in the fragment
// (after #), which browsers never send to the server; this script passes it
// to the JSON API only when checking and revealing the secret.

const $ = (id) => document.getElementById(id);

const app = $("app");
const secretId = app ? app.dataset.secretId || "" : "";
const apiUrl = `/api/v1/secrets/${encodeURIComponent(secretId)}`;

const MSG = {
  incomplete:
    "This link is incomplete: the part after # is missing. Ask the sender to copy the whole link.",
  notFound:
    "This link is not valid: the secret was already revealed, has expired, or the link is incomplete.",
  revoked: "The sender deleted this secret.",
  applied: "This secret was applied to a tenant's configuration and deleted here.",
  destroyed: "This secret was destroyed after too many wrong passphrases.",
  destroyedNow: "Too many wrong passphrases: the secret was destroyed.",
  passphraseRequired:
    "This secret is protected by a passphrase. The sender should have given it to you separately from the link.",
  network: "Could not reach the server. Check your connection and try again.",
  generic: "Something went wrong; try again.",
  deleted:
    "This secret is now deleted from the server. Store it where it belongs now; this page won't show it again.",
  chooseTenant: "Choose the tenant to apply the secret to.",
  typePassphrase: "Type the passphrase first: applying needs it too.",
  signedOut: "Your staff session has ended. Sign in again in another tab, then apply again from this page.",
  writtenTwice: "The sink already held this secret; nothing was written twice.",
};

// ---- Time formatting ------------------------------------------------

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const pad = (n) => String(n).padStart(2, "0");

function parseTime(iso) {
  if (typeof iso !== "string" || iso === "") {
    return null;
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

// "10:32 UTC on 22 Nov 2026"
function utcTimeOnDate(date) {
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`;
  const day = `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
  return `${time} on ${day}`;
}

// The reader's own time zone, e.g. "23 Nov 2026, 11:32 CET".
const localFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZoneName: "short",
});

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

// "in 5 hours", "in 3 days"; rounded down so it never overstates the time left.
function relative(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  if (seconds <= 0) {
    return "now";
  }
  if (seconds < 60) {
    return "in less than a minute";
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return relativeFormat.format(minutes, "minute");
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return relativeFormat.format(hours, "hour");
  }
  return relativeFormat.format(Math.floor(hours / 24), "day");
}

const plural = (n, one, many) => (n === 1 ? one : many);

// ---- Page state -----------------------------------------------------

const SECTIONS = ["loading", "ready", "revealed", "applied", "gone"];

function show(name) {
  for (const section of SECTIONS) {
    $(section).hidden = section !== name;
  }
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError() {
  const box = $("error");
  box.textContent = "";
  box.hidden = true;
}

// Focus moves to the new heading only after a click, not on page load.
function showGone(message, moveFocus = false) {
  clearError();
  $("gone-message").textContent = message;
  show("gone");
  if (moveFocus) {
    $("gone-heading").focus();
  }
}

function messageOf(body) {
  return body && typeof body.message === "string" && body.message !== "" ? body.message : MSG.generic;
}

// The sentence for a 404 (or 410) answer, by error code.
function goneMessage(status, body) {
  const code = body && typeof body.error === "string" ? body.error : "";
  if (status === 410 || code === "secret_destroyed") {
    return MSG.destroyedNow;
  }
  switch (code) {
    case "already_revealed": {
      const at = parseTime(body.ended_at);
      const when = at ? ` at ${utcTimeOnDate(at)}` : "";
      return `This secret was already revealed${when}. If that was not you, the link was intercepted: ask the sender for a new secret.`;
    }
    case "revoked":
      return MSG.revoked;
    case "applied": {
      const at = parseTime(body.ended_at);
      return at
        ? `This secret was applied to a tenant's configuration at ${utcTimeOnDate(at)} and deleted here.`
        : MSG.applied;
    }
    case "destroyed":
      return MSG.destroyed;
    default:
      return MSG.notFound;
  }
}

// ---- The key ----------------------------------------------------------

// Returns the key from the fragment, or "" if it is missing or unusable.
function readKey() {
  const raw = location.hash.slice(1);
  if (raw === "") {
    return "";
  }
  try {
    return decodeURIComponent(raw).trim();
  } catch {
    return null; // malformed percent-encoding
  }
}

// ---- API --------------------------------------------------------------

async function request(url, options) {
  const response = await fetch(url, {
    ...options,
    cache: "no-store",
    credentials: "same-origin",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null; // empty or not JSON (for example a proxy error page)
  }
  return { status: response.status, body };
}

// ---- Checking the link ------------------------------------------------

let key = readKey();

function setPassphraseRequired(required) {
  $("passphrase-field").hidden = !required;
  $("passphrase").required = required;
  const applyHint = $("apply-passphrase-hint");
  if (applyHint) {
    applyHint.hidden = !required;
  }
}

function fillReady(info) {
  const note = $("note");
  if (typeof info.note === "string" && info.note.trim() !== "") {
    note.textContent = info.note;
    note.hidden = false;
  } else {
    note.textContent = "";
    note.hidden = true;
  }

  const expires = parseTime(info.expires_at);
  $("expires").textContent = expires ? `${localFormat.format(expires)} (${relative(expires)})` : "Unknown";

  const left = Number(info.views_remaining);
  const allowed = Number(info.views_allowed);
  $("views-left").textContent = `${left} of ${allowed} ${plural(allowed, "view", "views")} left`;

  setPassphraseRequired(info.passphrase_required === true);
}

async function check() {
  if (key === "") {
    showGone(MSG.incomplete);
    return;
  }
  // Header values must be printable ASCII; anything else is a damaged link.
  if (key === null || secretId === "" || !/^[\x21-\x7e]+$/.test(key)) {
    showGone(MSG.notFound);
    return;
  }

  let result;
  try {
    result = await request(apiUrl, {
      headers: { Accept: "application/json", "X-Handoff-Key": key },
    });
  } catch {
    $("loading").hidden = true;
    showError(MSG.network);
    return;
  }

  const { status, body } = result;
  if (status === 200 && body) {
    fillReady(body);
    show("ready");
  } else if (status === 404 || status === 410) {
    showGone(goneMessage(status, body));
  } else {
    $("loading").hidden = true;
    showError(messageOf(body));
  }
}

// ---- Revealing ----------------------------------------------------------

const form = $("reveal-form");
const button = $("reveal");
const passphrase = $("passphrase");
const buttonLabel = button.textContent;

// Staff only: absent for everyone else.
const applyForm = $("apply-form");
const applyButton = $("apply");
const applyTenant = $("apply-tenant");
const applyExpiresOn = $("apply-expires-on");
const applyLabel = applyButton ? applyButton.textContent : "";

// While one action runs the other waits: a secret is revealed or applied, not both.
function setApplyEnabled(enabled) {
  if (applyButton) {
    applyButton.disabled = !enabled;
  }
}

// Handles the passphrase answers (401) the same way for revealing and
// applying; returns whether it did.
function passphraseFailure(status, code, body, fail) {
  if (status === 401 && code === "wrong_passphrase") {
    const n = Number(body.attempts_remaining);
    fail(
      Number.isFinite(n)
        ? `Wrong passphrase. ${n} ${plural(n, "attempt", "attempts")} left before the secret is destroyed.`
        : "Wrong passphrase.",
    );
    passphrase.focus();
    passphrase.select();
    return true;
  }
  if (status === 401 && code === "passphrase_required") {
    setPassphraseRequired(true);
    fail(MSG.passphraseRequired);
    passphrase.focus();
    return true;
  }
  return false;
}

function revealed(body) {
  const output = $("secret-output");
  output.value = body.secret;
  // Show multi-line secrets (certificates, JSON) without scrolling, within reason.
  const lines = body.secret.split("\n").length;
  output.rows = Math.min(Math.max(lines, 3), 16);

  const left = Number(body.views_remaining);
  $("after-reveal").textContent =
    left === 0
      ? MSG.deleted
      : `${left} more ${plural(left, "view remains", "views remain")}. Anyone with the full link can use ${plural(left, "it", "them")} until the link expires.`;

  passphrase.value = "";
  clearError();
  show("revealed");
  $("revealed-heading").focus();

  // Drop the key from the address bar and from history, and from memory.
  history.replaceState(null, "", location.pathname);
  key = "";
}

function failed(message) {
  showError(message);
  button.disabled = false;
  button.textContent = buttonLabel;
  setApplyEnabled(true);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled) {
    return;
  }
  clearError();
  button.disabled = true;
  button.textContent = "Revealing…";
  setApplyEnabled(false);

  const payload = { key };
  if (!$("passphrase-field").hidden && passphrase.value !== "") {
    payload.passphrase = passphrase.value;
  }

  let result;
  try {
    result = await request(`${apiUrl}/reveal`, {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  } catch {
    failed(MSG.network);
    return;
  }

  const { status, body } = result;
  const code = body && typeof body.error === "string" ? body.error : "";

  if (status === 200 && body && typeof body.secret === "string") {
    revealed(body);
    return;
  }
  if (status === 404 || status === 410) {
    showGone(goneMessage(status, body), true);
    return;
  }
  if (passphraseFailure(status, code, body, failed)) {
    return;
  }
  failed(messageOf(body));
});

// ---- Applying to a tenant (staff) -----------------------------------------

// "Microsoft accepted the secret" → "Microsoft accepted the secret."
function sentence(text) {
  const trimmed = typeof text === "string" ? text.trim() : "";
  return trimmed === "" || /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

// The tenant's name as the select lists it; the API answers with its slug.
function tenantName(slug) {
  const option = Array.from(applyTenant.options).find((o) => o.value === slug);
  return option ? option.dataset.name || option.textContent : String(slug || "the tenant");
}

function appliedMessage(body) {
  const verification = body.verification && typeof body.verification === "object" ? body.verification : {};
  const sink = typeof body.sink === "string" && body.sink !== "" ? ` (sink ${body.sink})` : "";
  const parts = [`Applied to ${tenantName(body.tenant)}${sink}.`];
  const checked = sentence(verification.message);
  if (checked !== "") {
    parts.push(checked);
  }
  if (body.written === false) {
    parts.push(MSG.writtenTwice);
  }
  parts.push("The secret is deleted here.");
  return parts.join(" ");
}

function applied(body) {
  passphrase.value = "";
  clearError();
  show("applied");
  $("apply-result").textContent = appliedMessage(body);
  $("applied-heading").focus();

  // Drop the key from the address bar and from history, and from memory.
  history.replaceState(null, "", location.pathname);
  key = "";
}

function applyFailed(message) {
  showError(message);
  applyButton.disabled = false;
  applyButton.textContent = applyLabel;
  button.disabled = false;
}

if (applyForm) {
  // The API takes today (UTC) or later; the picker offers no earlier day.
  const today = new Date();
  applyExpiresOn.min = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;

  applyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (applyButton.disabled) {
      return;
    }
    clearError();

    if (applyTenant.value === "") {
      showError(MSG.chooseTenant);
      applyTenant.focus();
      return;
    }
    const needsPassphrase = !$("passphrase-field").hidden;
    if (needsPassphrase && passphrase.value === "") {
      showError(MSG.typePassphrase);
      passphrase.focus();
      return;
    }

    const payload = { key, tenant: applyTenant.value };
    if (applyExpiresOn.value !== "") {
      payload.expires_on = applyExpiresOn.value;
    }
    if (needsPassphrase) {
      payload.passphrase = passphrase.value;
    }

    applyButton.disabled = true;
    applyButton.textContent = "Applying…";
    button.disabled = true;

    let result;
    try {
      result = await request(`${apiUrl}/apply`, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
    } catch {
      applyFailed(MSG.network);
      return;
    }

    const { status, body } = result;
    const code = body && typeof body.error === "string" ? body.error : "";

    if (status === 200 && body && body.status === "applied") {
      applied(body);
      return;
    }
    if (status === 404 || status === 410) {
      showGone(goneMessage(status, body), true);
      return;
    }
    if (passphraseFailure(status, code, body, applyFailed)) {
      return;
    }
    if (code === "apply_failed") {
      // The message already says that nothing was lost.
      const step = typeof body.step === "string" && body.step !== "" ? body.step : "unknown";
      applyFailed(`Apply failed at step ${step}: ${messageOf(body)}`);
      return;
    }
    if (status === 401) {
      applyFailed(MSG.signedOut);
      return;
    }
    if (status === 422 && code === "invalid_field") {
      applyFailed(messageOf(body));
      const field = { tenant: applyTenant, expires_on: applyExpiresOn, passphrase }[body.field];
      if (field) {
        field.focus();
      }
      return;
    }
    // being_applied, rate limits and the rest say it themselves.
    applyFailed(messageOf(body));
  });
}

// A different link pasted into the address bar changes only the fragment,
// which does not reload the page by itself.
window.addEventListener("hashchange", () => location.reload());

check();
