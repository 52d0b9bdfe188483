// Security keys (WebAuthn): enrolling one (a form marked data-webauthn="enrol", with the
// key's name, and the user's password when the form asks for it) and signing in with one (a block marked data-webauthn="sign-in" holding its
// button). Each asks the server for the options (data-options), hands them to
// navigator.credentials.create/get, and posts the key's answer as JSON (data-answer); the
// server decides everything and answers where to go next, or a message to show.
(function () {
  "use strict";

  function bytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function text(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: JSON.stringify(body || {}),
    });
    const answer = await response.json().catch(() => ({}));
    return {ok: response.ok, answer: answer};
  }

  function creationOptions(options) {
    options.challenge = bytes(options.challenge);
    options.user.id = bytes(options.user.id);
    (options.excludeCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    return options;
  }

  function requestOptions(options) {
    options.challenge = bytes(options.challenge);
    (options.allowCredentials || []).forEach((c) => { c.id = bytes(c.id); });
    return options;
  }

  function credentialJSON(credential, response) {
    return {
      id: credential.id, rawId: text(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: Object.assign({ clientDataJSON: text(credential.response.clientDataJSON) }, response),
    };
  }

  function madeCredential(credential) {
    const r = credential.response;
    return credentialJSON(credential, {
      attestationObject: text(r.attestationObject), transports: r.getTransports ? r.getTransports() : [],
    });
  }

  function usedCredential(credential) {
    const r = credential.response;
    return credentialJSON(credential, {
      authenticatorData: text(r.authenticatorData), signature: text(r.signature),
      userHandle: r.userHandle ? text(r.userHandle) : null,
    });
  }

  function say(place, message) {
    const alert = place.querySelector('[role="alert"]');
    alert.textContent = message;
    alert.hidden = false;
  }

  // One ceremony: options, the key, the answer. Returns nothing; navigates or says why not.
  async function ceremony(place, make, extra) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(place, place.dataset.unsupported);
      return;
    }
    const asked = await post(place.dataset.options);
    if (!asked.ok) {
      say(place, asked.answer.error ? asked.answer.error.message : place.dataset.cancelled);
      if (asked.answer.redirect) { window.location.assign(asked.answer.redirect); }
      return;
    }
    let credential;
    try {
      credential = make
        ? await navigator.credentials.create({publicKey: creationOptions(asked.answer)})
        : await navigator.credentials.get({publicKey: requestOptions(asked.answer)});
    } catch (problem) {
      const known = problem && problem.name === "InvalidStateError" && place.dataset.known;
      say(place, known || place.dataset.cancelled);
      return;
    }
    const body = Object.assign({credential: make ? madeCredential(credential) : usedCredential(credential)}, extra);
    const done = await post(place.dataset.answer, body);
    if (done.answer.redirect) {
      if (!done.ok) { say(place, done.answer.error.message); }
      window.location.assign(done.answer.redirect);
      return;
    }
    say(place, done.answer.error ? done.answer.error.message : place.dataset.cancelled);
  }

  function wire() {
    document.querySelectorAll('form[data-webauthn="enrol"]').forEach((form) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const button = form.querySelector('button[type="submit"]');
        button.disabled = true;
        const password = form.elements.namedItem("password");
        const extra = {name: form.elements.namedItem("name").value};
        if (password) { extra.password = password.value; }
        ceremony(form, true, extra)
          .finally(() => { button.disabled = false; });
      });
    });
    document.querySelectorAll('[data-webauthn="sign-in"]').forEach((place) => {
      const button = place.querySelector("button");
      button.addEventListener("click", () => {
        button.disabled = true;
        ceremony(place, false, {}).finally(() => { button.disabled = false; });
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
}());
