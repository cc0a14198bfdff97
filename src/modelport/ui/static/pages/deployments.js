// Deployments: the list, each row with its aliases (add, remove), its replicas (scale), replace and undeploy;
// the deploy form below (pages/deploy_form.js). Changes go through the admin API (PATCH keeps what is not
// given), and its validation errors appear next to the field they are about.
import { ApiError, json, request } from "../api.js";
import { fill, h, notice } from "../dom.js";
import { deployForm } from "./deploy_form.js";

let serial = 0;

/** A control with an error slot right after it (role=alert, described-by), for a field inside a table row. */
function withError(control) {
  control.id = control.id || `c-${++serial}`;
  const slot = h("p", { class: "field-error", id: `${control.id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", slot.id);
  return {
    slot,
    show(message) {
      slot.textContent = message;
      slot.hidden = false;
      control.setAttribute("aria-invalid", "true");
      control.focus();
    },
    clear() {
      slot.textContent = "";
      slot.hidden = true;
      control.removeAttribute("aria-invalid");
    },
  };
}

function patch(name, body) {
  return json("PATCH", `../api/deployments/${encodeURIComponent(name)}`, body);
}

/** Run a change; on success say `done` and refresh, else show the error at `where` (or the page message). */
async function change(action, done, where, page) {
  if (where) where.clear();
  try {
    await action();
    fill(page.message, notice(done, "ok"));
    await page.refresh();
  } catch (error) {
    if (where && error instanceof ApiError) where.show(error.message);
    else fill(page.message, notice(error.message, "error"));
  }
}

function aliasCell(d, page) {
  const aliases = d.aliases || [];
  const input = h("input", { class: "narrow-wide", autocomplete: "off", "aria-label": `New alias for ${d.name}` });
  const error = withError(input);
  const add = (event) => {
    event.preventDefault();
    const alias = input.value.trim();
    if (alias) change(() => patch(d.name, { aliases: [...aliases, alias] }), `${d.name} is also called ${alias}.`, error, page);
  };
  return h("td", {},
    h("ul", { class: "chips" }, aliases.map((alias) => h("li", {}, alias,
      h("button", { type: "button", class: "link", "aria-label": `Remove alias ${alias} of ${d.name}`,
                    onclick: () => change(() => patch(d.name, { aliases: aliases.filter((a) => a !== alias) }),
                                          `${d.name} is no longer called ${alias}.`, null, page) }, "×")))),
    h("form", { class: "inline", onsubmit: add }, input,
      h("button", { type: "submit", class: "secondary", "aria-label": `Add alias to ${d.name}` }, "Add")),
    error.slot);
}

function replicasCell(d, page) {
  if (d.urls.length) return h("td", {}, String(d.replicas));
  const replicas = h("input", { type: "number", min: "1", value: String(d.replicas), class: "narrow",
                                "aria-label": `Replicas of ${d.name}` });
  const error = withError(replicas);
  const scale = () => change(() => patch(d.name, { replicas: Number(replicas.value) }),
                             `${d.name} now runs ${replicas.value} replica(s).`, error, page);
  return h("td", {}, replicas, h("button", { type: "button", onclick: scale, "aria-label": `Scale ${d.name}` }, "Scale"),
           error.slot);
}

function deploymentRow(d, page) {
  const undeploy = () => {
    if (!window.confirm(`Undeploy ${d.name} and stop its instances?`)) return;
    change(() => request("DELETE", `../api/deployments/${encodeURIComponent(d.name)}`), `Undeployed ${d.name}.`, null, page);
  };
  return h("tr", {}, h("th", { scope: "row" }, d.name), h("td", {}, d.category),
    h("td", { class: "wrap" }, d.urls.length ? d.urls.join(", ") : [d.engine, d.model].filter(Boolean).join(" · ")),
    aliasCell(d, page),
    h("td", {}, d.instances.map((i) => h("span", { class: `state state-${i.state}`, title: i.reason }, i.state))),
    replicasCell(d, page),
    h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => page.edit(d),
                              "aria-label": `Replace ${d.name}` }, "Replace"),
      h("button", { type: "button", class: "danger", onclick: undeploy, "aria-label": `Undeploy ${d.name}` }, "Undeploy")));
}

/** Render the deployments page into `main`. */
export async function render(main) {
  const catalog = (await json("GET", "catalog")).data;
  const page = { message: h("div", { "aria-live": "polite" }), list: h("div", {}), editor: h("div", {}) };
  const done = async (message) => {
    fill(page.message, notice(message, "ok"));
    fill(page.editor);
    await page.refresh();
  };
  page.refresh = async () => {
    const deployments = (await json("GET", "../api/deployments")).data;
    fill(page.list, h("table", { class: "grid" }, h("caption", {}, "Deployments"),
      h("thead", {}, h("tr", {}, ["Name", "Category", "Runs", "Aliases", "Instances", "Replicas", ""]
        .map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, deployments.length ? deployments.map((d) => deploymentRow(d, page))
                                        : h("tr", {}, h("td", { colspan: 7 }, "No deployments yet.")))));
  };
  page.edit = (d) => {
    fill(page.editor, deployForm(catalog, done, d, () => fill(page.editor)));
    page.editor.querySelector("h2").scrollIntoView();
    page.editor.querySelector("select, input:not([readonly])").focus();
  };
  await page.refresh();
  main.append(h("h1", {}, "Deployments"), page.message, page.list, page.editor, deployForm(catalog, done));
}
