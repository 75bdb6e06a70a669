// The recipient's page (/s/{id}). The decryption key is in the fragment
// (after #), which browsers never send to the server; this script passes it
// to the JSON API only when checking and revealing the secret.

import {
  $,
  NETWORK_MESSAGE,
  appliedMessage,
  clearError,
  daysFromToday,
  errorCode,
  fitsHeader,
  forgetKeyInAddressBar,
  formatExpiry,
  idempotentAttempt,
  messageOf,
  parseTime,
  plural,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
  utcTimeOnDate,
} from "./common.js";

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
  deleted:
    "This secret is now deleted from the server. Store it where it belongs now; this page won't show it again.",
  chooseTenant: "Choose the tenant to apply the secret to.",
  typePassphrase: "Type the passphrase first: applying needs it too.",
  signedOut: "Your staff session has ended. Sign in again in another tab, then apply again from this page.",
  unconfirmed:
    "The server could not confirm the reveal. Click Reveal again: within a minute you get the same secret.",
};

// ---- Page state -----------------------------------------------------

const SECTIONS = ["loading", "ready", "revealed", "applied", "gone"];

function show(name) {
  for (const section of SECTIONS) {
    $(section).hidden = section !== name;
  }
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

// The sentence for a 404 (or 410) answer, by error code.
function goneMessage(status, body) {
  const code = errorCode(body);
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

  $("expires").textContent = formatExpiry(info.expires_at);

  const left = Number(info.views_remaining);
  const allowed = Number(info.views_allowed);
  $("views-left").textContent = `${left} of ${allowed} ${plural(allowed, "view", "views")} left`;

  setPassphraseRequired(info.passphrase_required === true);
}

async function check() {
  if (key === null) {
    showGone(MSG.incomplete);
    return;
  }
  if (secretId === "" || !fitsHeader(key)) {
    showGone(MSG.notFound);
    return;
  }

  let result;
  try {
    result = await request(apiUrl, { headers: { "X-Handoff-Key": key } });
  } catch {
    $("loading").hidden = true;
    showError(NETWORK_MESSAGE);
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

  forgetKeyInAddressBar();
  key = null;
}

function failed(message) {
  showError(message);
  button.disabled = false;
  button.textContent = buttonLabel;
  setApplyEnabled(true);
}

// Clicking Reveal again after a lost answer repeats the same reveal.
const revealAttempt = idempotentAttempt();

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
      headers: { "Content-Type": "application/json", "Idempotency-Key": revealAttempt.key() },
      body: JSON.stringify(payload),
    });
  } catch {
    revealAttempt.settle(null);
    failed(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  const code = errorCode(body);
  revealAttempt.settle(status);

  if (status === 200 && body && typeof body.secret === "string") {
    revealed(body);
    return;
  }
  if (code === "outcome_unknown") {
    failed(MSG.unconfirmed);
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

// The tenant's name as the select lists it; the API answers with its slug.
function tenantName(slug) {
  const option = Array.from(applyTenant.options).find((o) => o.value === slug);
  return option ? option.dataset.name || option.textContent : String(slug || "the tenant");
}

function applied(body) {
  passphrase.value = "";
  clearError();
  show("applied");
  $("apply-result").textContent = appliedMessage(body, tenantName(body.tenant));
  $("applied-heading").focus();

  forgetKeyInAddressBar();
  key = null;
}

function applyFailed(message) {
  showError(message);
  applyButton.disabled = false;
  applyButton.textContent = applyLabel;
  button.disabled = false;
}

if (applyForm) {
  // The API takes today (UTC) or later; the picker offers no earlier day.
  applyExpiresOn.min = daysFromToday(0);

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
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
    } catch {
      applyFailed(NETWORK_MESSAGE);
      return;
    }

    const { status, body } = result;
    const code = errorCode(body);

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

reloadWhenLinkChanges();

check();
