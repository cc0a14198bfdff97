// A small element builder: text is always set as text, never parsed as HTML.

/** h("button", {type: "button", onclick}, "Save") → an element; children are nodes or strings. */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A labelled form field: the label, the control, and a slot for the error about it (aria-describedby). */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", `${id}-error`);
  return h("div", { class: "field" }, h("label", { for: id }, label), control,
           hint ? h("p", { class: "hint" }, hint) : null, error);
}

/** Show `message` next to the field whose control has data-param `param` (or in `fallback`); false if none. */
export function showFieldError(form, param, message) {
  const name = (param || "").split(/[.[]/)[0];
  const control = name ? form.querySelector(`[data-param="${CSS.escape(name)}"]`) : null;
  if (!control) return false;
  const slot = document.getElementById(`${control.id}-error`);
  slot.textContent = message;
  slot.hidden = false;
  control.setAttribute("aria-invalid", "true");
  control.focus();
  return true;
}

/** Clear every field error of a form. */
export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
}

/** A select of `options` ([value, label] pairs or strings). */
export function select(attrs, options) {
  return h("select", attrs, options.map((o) => (Array.isArray(o) ? h("option", { value: o[0] }, o[1])
                                                                  : h("option", { value: o }, o))));
}

/** A status line (role=status) or alert (role=alert). */
export function notice(text, kind = "info") {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
