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
  formatClock,
  formatExpiry,
  formatLocal,
  idempotentAttempt,
  messageOf,
  parseTime,
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

const MSG = {
  incomplete: t("incomplete"),
  notFound: t("not-found"),
  revoked: t("revoked"),
  applied: t("applied"),
  destroyed: t("destroyed"),
  destroyedNow: t("destroyed-now"),
  passphraseRequired: t("passphrase-required"),
  deleted: t("deleted"),
  // Staff only (applying): in English, as the staff pages are.
  chooseTenant: "Choose the tenant to apply the secret to.",
  typePassphrase: "Type the passphrase first: applying needs it too.",
  signedOut: "Your staff session has ended. Sign in again in another tab, then apply again from this page.",
  unconfirmed: t("unconfirmed"),
};

// ---- What this tab revealed ----------------------------------------------

// After a reveal the key leaves the address bar, so reloading would find a
// link without a key. The tab remembers (sessionStorage: this tab only, never
// sent anywhere) when it revealed this secret, and says so instead.
const REVEALED_KEY = `handoff.revealed.${secretId}`;

function rememberReveal(viewsLeft) {
  try {
    sessionStorage.setItem(REVEALED_KEY, JSON.stringify({ at: new Date().toISOString(), left: viewsLeft }));
  } catch {
    // Storage off: a reload then says the link is incomplete, as before.
  }
}

function revealedHere() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(REVEALED_KEY) || "null");
    const at = saved ? parseTime(saved.at) : null;
    return at ? { at, left: Number(saved.left) || 0 } : null;
  } catch {
    return null;
  }
}

function revealedHereMessage(saved) {
  const time = formatClock(saved.at);
  return saved.left > 0 ? t("revealed-remaining", { time }) : t("revealed-at", { time });
}

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
      const here = revealedHere();
      if (here) {
        return revealedHereMessage(here);
      }
      const at = parseTime(body.ended_at);
      return at ? t("already-revealed-at", { time: formatLocal(at) }) : t("already-revealed");
    }
    case "revoked":
      return MSG.revoked;
    case "applied": {
      const at = parseTime(body.ended_at);
      return at ? t("applied-at", { time: formatLocal(at) }) : MSG.applied;
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

function showNote(element, text) {
  const has = typeof text === "string" && text.trim() !== "";
  element.textContent = has ? text : "";
  element.hidden = !has;
}

// The sender's note, kept for the revealed view.
let senderNote = "";

function fillReady(info) {
  senderNote = typeof info.note === "string" ? info.note : "";
  showNote($("note"), senderNote);

  $("expires").textContent = formatExpiry(info.expires_at);

  const left = Number(info.views_remaining);
  const allowed = Number(info.views_allowed);
  $("views-left").textContent = tp("views-of", left, { left, allowed });

  setPassphraseRequired(info.passphrase_required === true);
}

async function check() {
  if (key === null) {
    const here = revealedHere();
    showGone(here ? revealedHereMessage(here) : MSG.incomplete);
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
      Number.isFinite(n) ? tp("wrong-passphrase-left", n) : t("wrong-passphrase"),
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
  $("after-reveal").textContent = left === 0 ? MSG.deleted : tp("more-views", left);
  showNote($("revealed-note"), senderNote);
  // Whoever holds the link may delete it: the key stays in this page's
  // memory for that, not in the address bar.
  deleteKey = left > 0 ? key : null;
  $("delete-remaining-row").hidden = deleteKey === null;

  passphrase.value = "";
  clearError();
  show("revealed");
  $("revealed-heading").focus();

  rememberReveal(left);
  forgetKeyInAddressBar();
  key = null;
}

let deleteKey = null;

$("delete-remaining").addEventListener("click", async () => {
  if (deleteKey === null || !window.confirm(t("delete-remaining-confirm"))) {
    return;
  }
  const button = $("delete-remaining");
  button.disabled = true;
  clearError();
  let result;
  try {
    result = await request(apiUrl, { method: "DELETE", headers: { "X-Handoff-Key": deleteKey } });
  } catch {
    button.disabled = false;
    showError(NETWORK_MESSAGE);
    return;
  }
  if (result.status === 204 || result.status === 404) {
    deleteKey = null;
    rememberReveal(0);
    $("delete-remaining-row").hidden = true;
    $("after-reveal").textContent = t("deleted-remaining");
  } else {
    button.disabled = false;
    showError(messageOf(result.body));
  }
});

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
  button.textContent = t("revealing");
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
