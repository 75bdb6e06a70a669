// The customer's page (/r/{id}). The request key is in the fragment (after
// #), which browsers never send to the server on their own; this script sends
// it to the JSON API to load the request and to answer it with a new client
// secret. The secret is checked as it is typed (the server checks again).

import {
  $,
  NETWORK_MESSAGE,
  clearError,
  daysFromToday,
  errorCode,
  fitsHeader,
  formatExpiry,
  formatLocal,
  messageOf,
  parseTime,
  plural,
  readKey,
  reloadWhenLinkChanges,
  request,
  showError,
} from "./common.js";

const app = $("app");
const requestId = app ? app.dataset.requestId || "" : "";
const apiUrl = `/api/v1/requests/${encodeURIComponent(requestId)}`;

const MSG = {
  incomplete:
    "This link is incomplete: the part after # is missing. Ask the sender to copy the whole link.",
  notFound: "This request link is not valid or has expired; ask the sender for a new one.",
  answered: "This request was already answered. Nothing more to do.",
  locked: "Too many attempts: this request is locked. The vendor has been told; ask them for a new link.",
  unreachable: "Microsoft could not be reached to check the secret. Nothing was sent; try again in a minute.",
  tooMany: "Too many attempts in a short time. Wait a minute and try again.",
  empty: "The secret is empty: paste the Value of the new client secret.",
  pickDate: "Pick the expiry date, or choose “I don't know”.",
  secretIdNotGuid:
    "The Secret ID is a GUID such as 1a2b3c4d-…; copy it from the Secret ID column, or leave this field empty.",
};

// Mirrors ClientSecretInput::parse on the server (src/domain/azure.rs).
const CHECK = {
  trimmed: "Leading/trailing spaces or line breaks will be removed.",
  secretId:
    "That is the Secret ID, not the Value: in Certificates & secrets, copy the Value column (it is shown only right after creating the secret).",
  clientId:
    "That is the app's client ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.",
  tenantId:
    "That is the tenant ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.",
  control:
    "The value contains control characters, such as a line break in the middle: copy it again from the Value column, in one piece.",
  inner:
    "The value contains a space or an invisible character; Microsoft's client secrets never do, so it may have been split or joined when it was copied.",
  format:
    "This doesn't look like a current Entra ID secret value (40 characters with 8Q~ after the first three). Check you copied all of it.",
};

// ---- Checking the secret as it is typed ---------------------------------

// What the server trims: Unicode white space (which includes line breaks
// and U+0085) and the invisible characters rich-text copies add.
const TRIMMABLE = "\\s\\u0085\\u200b\\u200c\\u200d\\u2060\\ufeff";
const LEADING = new RegExp(`^[${TRIMMABLE}]+`);
const TRAILING = new RegExp(`[${TRIMMABLE}]+$`);
const INNER = new RegExp(`[${TRIMMABLE}]`);
const CONTROL = /\p{Cc}/u;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_CHARS = /^[A-Za-z0-9_~.-]*$/;

// The two generations of secrets Entra ID issues: three characters, a
// marker, then random characters (40 in all today, 37 in older ones).
const GENERATIONS = [
  { marker: "8Q~", length: 40 },
  { marker: "7Q~", length: 37 },
];

const stripBraces = (text) =>
  text.length >= 2 && text.startsWith("{") && text.endsWith("}") ? text.slice(1, -1) : text;

const isGuid = (text) => GUID.test(stripBraces(text));

function sameIdentifier(value, configured) {
  const known = stripBraces(String(configured || "").trim());
  return known !== "" && stripBraces(value).toLowerCase() === known.toLowerCase();
}

// Returns { error, warning, notice }: an error blocks sending; a warning
// and a notice only inform. Empty input gives nothing to say.
function checkSecret(raw, known) {
  const value = raw.replace(LEADING, "").replace(TRAILING, "");
  const result = { error: "", warning: "", notice: "", empty: value === "" };
  if (result.empty) {
    return result;
  }
  if (value !== raw) {
    result.notice = CHECK.trimmed;
  }
  if (CONTROL.test(value)) {
    result.error = CHECK.control;
  } else if (sameIdentifier(value, known.clientId)) {
    // Before the GUID check: a client ID is a GUID too.
    result.error = CHECK.clientId;
  } else if (sameIdentifier(value, known.entraTenant)) {
    result.error = CHECK.tenantId;
  } else if (isGuid(value)) {
    result.error = CHECK.secretId;
  } else if (INNER.test(value)) {
    result.warning = CHECK.inner;
  } else {
    const chars = [...value];
    const marker = chars.slice(3, 6).join("");
    const generation = GENERATIONS.find((g) => marker === g.marker);
    const fits = generation && chars.length === generation.length && SECRET_CHARS.test(value);
    if (!fits) {
      // Say how long it is when the length is what is wrong.
      const lengthOff =
        chars.length < 16 || chars.length > 64 || (generation && chars.length !== generation.length);
      result.warning = lengthOff
        ? `${CHECK.format} It has ${chars.length} ${plural(chars.length, "character", "characters")}.`
        : CHECK.format;
    }
  }
  return result;
}

// ---- Page state -----------------------------------------------------

const SECTIONS = ["loading", "open", "accepted", "closed"];

function show(name) {
  for (const section of SECTIONS) {
    $(section).hidden = section !== name;
  }
  $("load-error").hidden = true;
}

function showLoadError(message) {
  $("loading").hidden = true;
  const box = $("load-error");
  box.textContent = message;
  box.hidden = false;
}

// Focus moves to the new heading only after a click, not on page load.
function showClosed(heading, message, moveFocus = false) {
  $("secret").value = "";
  $("closed-heading").textContent = heading;
  $("closed-message").textContent = message;
  show("closed");
  if (moveFocus) {
    $("closed-heading").focus();
  }
}

function answeredMessage(answeredAt) {
  const at = parseTime(answeredAt);
  return at
    ? `This request was already answered on ${formatLocal(at)}. Nothing more to do.`
    : MSG.answered;
}

const showAnswered = (answeredAt, moveFocus = false) =>
  showClosed("Already answered", answeredMessage(answeredAt), moveFocus);
const showLocked = (moveFocus = false) => showClosed("This request is locked", MSG.locked, moveFocus);
const showNotFound = (moveFocus = false) =>
  showClosed("This link does not work", MSG.notFound, moveFocus);

// ---- Loading the request --------------------------------------------------

const key = readKey();
const info = { vendor: "The vendor", clientId: "", entraTenant: "", verify: "required" };

const form = $("answer-form");
const secret = $("secret");
const check = $("secret-check");
const expiryChoice = $("expiry-choice");
const expiresOn = $("expires-on");
const secretIdInput = $("secret-id");
const button = $("submit-answer");
let buttonLabel = button.textContent;

function setTries(n) {
  const left = Number(n);
  $("tries").textContent = Number.isFinite(left) ? `${left} ${plural(left, "attempt", "attempts")} left` : "";
}

function fillOpen(data) {
  const tenant = data.tenant && typeof data.tenant === "object" ? data.tenant : {};
  if (typeof data.vendor_name === "string" && data.vendor_name.trim() !== "") {
    info.vendor = data.vendor_name.trim();
  }
  info.clientId = String(tenant.client_id || "");
  info.entraTenant = String(tenant.entra_tenant || "");
  info.verify = typeof data.verify === "string" ? data.verify : "required";

  $("open-heading").textContent = `${info.vendor} asks for a new client secret`;
  $("tenant-name").textContent = String(tenant.name || "");
  $("entra-tenant").textContent = info.entraTenant;
  $("client-id").textContent = info.clientId;
  $("step-tenant").textContent = info.entraTenant;
  $("step-client-id").textContent = info.clientId;

  $("expires").textContent = formatExpiry(data.expires_at);

  const note = $("note");
  if (typeof data.note === "string" && data.note.trim() !== "") {
    note.textContent = data.note;
    note.hidden = false;
  } else {
    note.textContent = "";
    note.hidden = true;
  }

  const verifyHint = $("verify-hint");
  if (info.verify === "off") {
    buttonLabel = "Send";
    verifyHint.textContent = `The secret is sent to ${info.vendor} without a check with Microsoft.`;
  } else if (info.verify === "advisory") {
    verifyHint.textContent =
      "The secret is checked with Microsoft first. If Microsoft cannot be reached, it is sent anyway and checked later.";
  } else {
    verifyHint.textContent = "The secret is checked with Microsoft first; it is sent only if Microsoft accepts it.";
  }
  button.textContent = buttonLabel;

  expiresOn.min = daysFromToday(1);
  setTries(data.tries_remaining);
}

async function load() {
  if (key === null) {
    showClosed("This link is incomplete", MSG.incomplete);
    return;
  }
  if (requestId === "" || !fitsHeader(key)) {
    showNotFound();
    return;
  }

  let result;
  try {
    result = await request(apiUrl, { headers: { "X-Handoff-Key": key } });
  } catch {
    showLoadError(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = result;
  if (status === 200 && body) {
    if (body.state === "answered") {
      showAnswered(body.answered_at);
    } else if (body.state === "locked") {
      showLocked();
    } else {
      fillOpen(body);
      show("open");
    }
  } else if (status === 404) {
    showNotFound();
  } else {
    showLoadError(messageOf(body));
  }
}

// ---- Live checks ----------------------------------------------------------

function line(text, level) {
  const span = document.createElement("span");
  span.className = `check-${level}`;
  span.textContent = text;
  return span;
}

function renderCheck() {
  const result = checkSecret(secret.value, info);
  const lines = [];
  if (result.error) {
    lines.push(line(result.error, "error"));
  }
  if (result.warning) {
    lines.push(line(result.warning, "warning"));
  }
  if (result.notice) {
    lines.push(line(result.notice, "notice"));
  }
  check.replaceChildren(...lines);
  if (result.error) {
    secret.setAttribute("aria-invalid", "true");
  } else {
    secret.removeAttribute("aria-invalid");
  }
  return result;
}

secret.addEventListener("input", renderCheck);

expiryChoice.addEventListener("change", () => {
  const custom = expiryChoice.value === "custom";
  $("expires-on-field").hidden = !custom;
  expiresOn.required = custom;
  if (!custom) {
    expiresOn.value = "";
  }
});

function expiryDate() {
  const choice = expiryChoice.value;
  if (choice === "") {
    return "";
  }
  if (choice === "custom") {
    return expiresOn.value;
  }
  const days = Number(choice);
  return Number.isInteger(days) && days > 0 ? daysFromToday(days) : "";
}

// ---- Answering ------------------------------------------------------------

function accepted(body) {
  const verification = body.verification && typeof body.verification === "object" ? body.verification : {};
  const detail = typeof verification.message === "string" ? verification.message.trim() : "";
  let result;
  let closing = "You can close this page.";
  if (body.delivered === true) {
    // Applied to the vendor's configuration right away. (false or null:
    // the vendor finishes it; the customer's part is done either way.)
    result = body.verified === true ? `Verified and delivered to ${info.vendor}.` : `Delivered to ${info.vendor}.`;
    closing = "Nothing more to do; you can close this page.";
  } else if (body.verified === true) {
    result = `Verified: ${detail || "Microsoft accepted the secret."}`;
  } else if (info.verify === "off") {
    result = `Received. ${info.vendor} will check it.`;
  } else {
    const why = detail ? ` (${detail.replace(/\.$/, "")})` : "";
    result = `Received. It could not be checked with Microsoft right now${why}; ${info.vendor} will check it.`;
  }
  $("accepted-result").textContent = result;
  $("accepted-close").textContent = closing;

  const messages = [];
  for (const list of [body.notices, body.verified === true ? [] : body.warnings]) {
    for (const text of Array.isArray(list) ? list : []) {
      if (typeof text === "string" && text !== "") {
        const li = document.createElement("li");
        li.textContent = text;
        messages.push(li);
      }
    }
  }
  if (typeof body.hint === "string" && body.hint !== "") {
    const li = document.createElement("li");
    li.textContent = `The secret received starts with ${body.hint}.`;
    messages.push(li);
  }
  const list = $("accepted-notices");
  list.replaceChildren(...messages);
  list.hidden = messages.length === 0;

  // The secret leaves the page as the form goes.
  secret.value = "";
  check.replaceChildren();
  clearError();
  show("accepted");
  $("accepted-heading").focus();
}

function failed(message) {
  showError(message);
  button.disabled = false;
  button.textContent = buttonLabel;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (button.disabled) {
    return;
  }
  clearError();

  const result = renderCheck();
  if (result.empty) {
    showError(MSG.empty);
    secret.focus();
    return;
  }
  if (result.error) {
    showError(result.error);
    secret.focus();
    return;
  }
  const expires = expiryDate();
  if (expiryChoice.value === "custom" && expires === "") {
    showError(MSG.pickDate);
    expiresOn.focus();
    return;
  }
  const secretIdValue = secretIdInput.value.trim();
  if (secretIdValue !== "" && !isGuid(secretIdValue)) {
    showError(MSG.secretIdNotGuid);
    secretIdInput.focus();
    return;
  }

  const payload = { key, secret: secret.value };
  if (expires !== "") {
    payload.expires_on = expires;
  }
  if (secretIdValue !== "") {
    payload.secret_id = secretIdValue;
  }

  button.disabled = true;
  button.textContent = info.verify === "off" ? "Sending…" : "Checking with Microsoft…";

  let response;
  try {
    response = await request(`${apiUrl}/answer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  } catch {
    failed(NETWORK_MESSAGE);
    return;
  }

  const { status, body } = response;
  const code = errorCode(body);

  if (status === 201 && body) {
    accepted(body);
    return;
  }
  if (status === 422 && (code === "secret_refused" || code === "verification_failed")) {
    const left = Number(body.tries_remaining);
    if (Number.isFinite(left) && left <= 0) {
      showLocked(true);
      return;
    }
    setTries(left);
    failed(messageOf(body));
    secret.focus();
    return;
  }
  if (status === 422 && code === "invalid_field") {
    failed(messageOf(body));
    const field = { secret: secret, expires_on: expiryChoice, secret_id: secretIdInput }[body.field];
    if (field) {
      field.focus();
    }
    return;
  }
  if (status === 503) {
    failed(MSG.unreachable);
    return;
  }
  if (status === 409) {
    if (code === "locked") {
      showLocked(true);
    } else {
      showAnswered(null, true);
    }
    return;
  }
  if (status === 404) {
    showNotFound(true);
    return;
  }
  if (status === 429) {
    failed(messageOf(body, MSG.tooMany));
    return;
  }
  failed(messageOf(body));
});

reloadWhenLinkChanges();

load();
