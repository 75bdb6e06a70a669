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
  t,
} from "./common.js";
import { GENERATIONS, classify, isGenerated, isGuid } from "./paste.js";

const app = $("app");
const requestId = app ? app.dataset.requestId || "" : "";
const apiUrl = `/api/v1/requests/${encodeURIComponent(requestId)}`;

// Every sentence this page shows about the request and the paste is in MSG,
// REFUSED, CLEANED and DOUBT below, each under a stable code.
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
  activating:
    "Microsoft is still activating this new secret (a new secret can take a minute or two to work). It is checked again automatically: keep this page open, nothing more to do.",
  activatingButton: "Waiting for Microsoft…",
  secretIdNotGuid:
    "The Secret ID is a GUID such as 1a2b3c4d-…; copy it from the Secret ID column, or leave this field empty.",
};

// What the paste check says, keyed by the codes the server uses for the same
// thing (src/domain/azure.rs, static/paste.js): a refusal blocks sending.
const REFUSED = {
  empty: MSG.empty,
  secret_id_not_value:
    "That is the Secret ID, not the Value: in Certificates & secrets, copy the Value column (it is shown only right after creating the secret).",
  equals_client_id:
    "That is the app's client ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.",
  equals_tenant_id:
    "That is the tenant ID, not a secret: in Certificates & secrets, copy the Value column of the new secret.",
  control_characters:
    "The value contains control characters, such as a line break in the middle: copy it again from the Value column, in one piece.",
  masked_value:
    "That value is hidden behind asterisks: a secret's Value is shown only once, right after it is created. Create a new secret: Certificates & secrets → Client secrets → New client secret, and copy its Value right away.",
  portal_row:
    "That is a whole row of the Client secrets table, and its Value could not be told apart: copy only the Value cell.",
  other_app:
    "That Azure CLI output is for another app (its appId is not this app's client ID): reset the credential of the app shown on this page.",
  other_tenant:
    "That Azure CLI output is from another tenant (its tenant is not this tenant's ID): sign in to the tenant shown on this page and reset the credential there.",
  cli_output_without_password:
    "That Azure CLI output has no password: paste the output of `az ad app credential reset`, or only its password.",
};

// What will be taken off before the value is sent (the server does the same).
const CLEANED = {
  trimmed: "Spaces or line breaks around the value will be removed.",
  invisible: "Invisible characters (non-breaking or zero-width spaces, a byte order mark) will be removed.",
  label: "The label in front of the value will be removed.",
  quotes: "The quotes around the value will be removed.",
  cli_output: "Only the password from the Azure CLI output will be sent.",
  portal_row: "Only the Value from the copied Client secrets row will be sent.",
  wrapped: "The value was broken across lines; it will be joined.",
  pasted_twice: "The value was pasted twice; it will be sent once.",
  percent_encoded: "%7E will be turned back into ~ (the value was copied from a URL).",
};

// Doubts: only informed, never blocking.
const DOUBT = {
  inner:
    "The value contains a space or an invisible character; Microsoft's client secrets never do, so it may have been split or joined when it was copied.",
  format:
    "This doesn't look like a current Entra ID secret value (40 characters with 8Q~ after the first three). Check you copied all of it.",
};

// ---- Checking the secret as it is typed ---------------------------------

const INNER = /[\s\u0085]/;

// Returns { error, warning, notices, empty }: an error blocks sending; a
// warning and notices only inform. Empty input gives nothing to say.
function checkSecret(raw, known) {
  const result = { error: "", warning: "", notices: [], empty: raw.trim() === "" };
  if (result.empty) {
    return result;
  }
  const { value, cleaned, refused } = classify(raw, known);
  if (refused === "empty") {
    result.empty = true;
    return result;
  }
  if (refused) {
    result.error = REFUSED[refused] || REFUSED.control_characters;
    return result;
  }
  result.notices = cleaned.map((code) => CLEANED[code]).filter(Boolean);
  if (INNER.test(value)) {
    result.warning = DOUBT.inner;
  } else if (!isGenerated(value)) {
    const length = [...value].length;
    const generation = GENERATIONS.find((g) => value.slice(3, 6) === g.marker);
    // Say how long it is when the length is what is wrong.
    const lengthOff = length < 16 || length > 64 || (generation && length !== generation.length);
    result.warning = lengthOff
      ? `${DOUBT.format} It has ${length} ${plural(length, "character", "characters")}.`
      : DOUBT.format;
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

  $("open-heading").textContent = t("req-asks", { vendor: info.vendor });
  $("tenant-name").textContent = String(tenant.name || "");
  $("entra-tenant").textContent = info.entraTenant;
  $("client-id").textContent = info.clientId;
  $("step-tenant").textContent = info.entraTenant;
  $("step-client-id").textContent = info.clientId;
  // The server builds it only for a GUID client ID in a cloud whose portal
  // it knows; only an https link is ever followed.
  const credentialsUrl = typeof tenant.credentials_url === "string" ? tenant.credentials_url : "";
  if (credentialsUrl.startsWith("https://")) {
    $("credentials-url").href = credentialsUrl;
    $("credentials-link").hidden = false;
  } else {
    $("credentials-link").hidden = true;
  }

  $("expires").textContent = formatExpiry(data.expires_at);

  // The vendor's note, under "Note from <vendor>".
  const hasNote = typeof data.note === "string" && data.note.trim() !== "";
  $("note").textContent = hasNote ? data.note : "";
  $("note-box").hidden = !hasNote;

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

// A certificate request: the customer uploads the certificate and presses
// Check; the server signs with a key that never reaches this page.
const CERT_MSG = {
  heading: (vendor) => `${vendor} asks you to upload a certificate`,
  checking: "Checking with Microsoft…",
  check: "Check",
};

function downloadLink(id, bytes, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  $(id).href = url;
}

function fillCertificate(data) {
  const cert = data.certificate;
  $("open-heading").textContent = CERT_MSG.heading(info.vendor);
  for (const id of ["secret-heading", "secret-steps", "answer-form"]) {
    $(id).hidden = true;
  }
  $("certificate-part").hidden = false;
  $("cert-step-client-id").textContent = info.clientId;
  $("cert-thumbprint").textContent = String(cert.thumbprint || "");
  $("cert-sha256").textContent = String(cert.sha256 || "");
  $("cert-not-after").textContent = formatLocal(parseTime(cert.not_after));
  const der = Uint8Array.from(atob(String(cert.der_base64 || "")), (c) => c.charCodeAt(0));
  downloadLink("download-cer", der, "application/pkix-cert");
  downloadLink("download-pem", String(cert.pem || ""), "application/x-pem-file");
}

const checkButton = $("check-certificate");
if (checkButton) {
  checkButton.addEventListener("click", async () => {
    if (checkButton.disabled) {
      return;
    }
    const box = $("cert-error");
    box.hidden = true;
    checkButton.disabled = true;
    checkButton.textContent = CERT_MSG.checking;
    let result;
    try {
      result = await request(`${apiUrl}/check`, { method: "POST", headers: { "X-Handoff-Key": key } });
    } catch {
      result = { status: 0, body: { message: NETWORK_MESSAGE } };
    }
    checkButton.disabled = false;
    checkButton.textContent = CERT_MSG.check;
    if (result.status === 201 && result.body) {
      accepted(result.body);
      return;
    }
    box.textContent = messageOf(result.body);
    box.hidden = false;
    if (result.body && result.body.tries_remaining !== undefined) {
      setTries(result.body.tries_remaining);
    }
  });
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
      if (body.kind === "certificate" && body.certificate) {
        fillCertificate(body);
      }
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
  for (const notice of result.notices) {
    lines.push(line(notice, "notice"));
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
  if (typeof body.hint === "string" && body.hint.startsWith("certificate ")) {
    const li = document.createElement("li");
    li.textContent = `Certificate ${body.hint.slice(12)} was accepted.`;
    messages.push(li);
  } else if (typeof body.hint === "string" && body.hint !== "") {
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

// The server's window is at most ten minutes; this only bounds the loop.
const MAX_ACTIVATION_CHECKS = 120;

const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

function activating(on) {
  const box = $("activating");
  box.textContent = on ? MSG.activating : "";
  box.hidden = !on;
  if (on) {
    button.textContent = MSG.activatingButton;
  }
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
  // A brand-new secret may not work for a minute or two: the server answers
  // 202 until Microsoft takes it (or its window has passed), and the same
  // value, held only in this function, is sent again.
  for (let checks = 0; ; checks += 1) {
    try {
      response = await request(`${apiUrl}/answer`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
      });
    } catch {
      activating(false);
      failed(NETWORK_MESSAGE);
      return;
    }
    if (response.status !== 202 || checks >= MAX_ACTIVATION_CHECKS) {
      break;
    }
    activating(true);
    const wait = Number(response.body && response.body.retry_after_secs);
    await sleep(Number.isFinite(wait) && wait > 0 ? Math.min(wait, 30) * 1000 : 5000);
  }
  activating(false);

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
    failed(code === "vendor_misconfigured" ? messageOf(body) : MSG.unreachable);
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
