// Builds the page from data without ever parsing HTML: text goes through
// text nodes (textContent), so a value can never become markup or script.

const SVG = "http://www.w3.org/2000/svg";

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function apply(node, props) {
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else if (name === "text") {
      node.textContent = String(value);
    } else if (name === "class") {
      node.setAttribute("class", value);
    } else if (name === "href" && !String(value).startsWith("#")) {
      // Only in-page routes: a value from the API never becomes a link target.
      throw new Error(`refused href ${value}`);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  return node;
}

/** An HTML element: h("p", {class: "x"}, "text", otherNode). */
export function h(tag, props, ...children) {
  return append(apply(document.createElement(tag), props), children);
}

/** An SVG element. */
export function s(tag, props, ...children) {
  return append(apply(document.createElementNS(SVG, tag), props), children);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

const DATE = new Intl.DateTimeFormat("fr-FR", { dateStyle: "short", timeStyle: "medium" });

/** An RFC 3339 instant, in the user's time zone; "—" when absent. */
export function date(iso) {
  return iso ? DATE.format(new Date(iso)) : "—";
}

/** Says `text` to screen readers. */
export function announce(text) {
  const region = document.getElementById("annonce");
  region.textContent = "";
  window.setTimeout(() => { region.textContent = text; }, 50);
}

/** A message box (kind: "erreur", "succes" or "info"); errors are alerts. */
export function message(kind, ...children) {
  return h("div", { class: `message ${kind}`, role: kind === "erreur" ? "alert" : "status" }, ...children);
}

/** A labelled field: the label is tied to the control by its id. */
export function field(id, label, control, help) {
  control.id = id;
  const helpId = help ? `${id}-aide` : null;
  if (helpId) control.setAttribute("aria-describedby", helpId);
  return h("div", { class: "champ" },
    h("label", { for: id }, label, helpId ? h("span", { class: "aide", id: helpId }, help) : null),
    control);
}

/** A checkbox with its label. */
export function checkbox(id, label, checked, props) {
  const box = h("input", { type: "checkbox", id, ...props });
  box.checked = Boolean(checked);
  return h("label", { class: "case", for: id }, box, h("span", {}, label));
}

/** Pretty JSON, as text. */
export function json(value) {
  return JSON.stringify(value, null, 2);
}

/** Runs `action` with `button` disabled; returns its result. */
export async function busy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } finally {
    button.disabled = false;
  }
}

/**
 * Asks for confirmation in a modal dialog (keyboard and screen-reader
 * friendly); resolves to true when confirmed.
 */
export function confirmDialog(title, text, confirmLabel) {
  return new Promise((resolve) => {
    const titleId = `dialogue-${Date.now()}`;
    const ok = h("button", { type: "button", class: "danger", id: "confirmer" }, confirmLabel);
    const cancel = h("button", { type: "button", class: "secondaire", id: "annuler" }, "Annuler");
    const dialog = h("dialog", { "aria-labelledby": titleId },
      h("h2", { id: titleId }, title), h("p", {}, text), h("div", { class: "actions" }, ok, cancel));
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    ok.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** The secret, shown once, with a copy button. */
export function secretPanel(secret, intro) {
  const code = h("code", { id: "secret" }, secret);
  const done = h("span", { role: "status", class: "aide" });
  const copy = h("button", { type: "button", class: "secondaire", id: "copier-secret" }, "Copier");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(secret);
      done.textContent = "Copié dans le presse-papiers.";
    } catch {
      window.getSelection().selectAllChildren(code);
      done.textContent = "Sélectionné : copiez-le avec Ctrl+C.";
    }
  });
  return message("succes", h("p", {}, h("strong", {}, intro)),
    h("p", {}, "Conservez ce secret maintenant : il ne sera plus jamais affiché."),
    h("div", { class: "secret" }, code, copy, done));
}
