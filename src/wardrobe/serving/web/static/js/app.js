// The wardrobe page: sign in, upload, browse, correct, plan outfits, search.
// Everything goes through the public /v1 API (api.js); everything shown is built as text (dom.js).

import { api, currentSession, useSession } from "./api.js";
import { $, $$, bytes, fill, h, human, options, percent } from "./dom.js";

const PAGE_SIZE = 24;
const PARALLEL_UPLOADS = 2;
const VIEWS = ["wardrobe", "add", "plan", "search"];

const state = {
  words: null, // /v1/vocabulary
  offset: 0,
  total: 0,
  filters: { slot: "", category: "", colour: "" },
  detail: null, // the garment open in the dialog
};

// ---------------------------------------------------------------------------- small helpers
let toastTimer;
function toast(message, kind = "info") {
  const el = $("#toast");
  el.textContent = message;
  el.dataset.kind = kind;
  el.classList.add("show");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("show"), 4000);
}

const categorySlot = (name) => (state.words.categories.find((c) => c.name === name) || {}).slot;

/** Crops and photos as blob: URLs (an <img src> cannot send the API key header). */
const images = new Map();
function imageUrl(id, kind = "image") {
  const key = `${kind}:${id}`;
  if (!images.has(key)) {
    const url = api.image(id, kind).then((blob) => URL.createObjectURL(blob));
    url.catch(() => images.delete(key));
    images.set(key, url);
  }
  return images.get(key);
}

function forgetImages(id) {
  for (const kind of ["image", "photo"]) {
    const key = `${kind}:${id}`;
    const url = images.get(key);
    images.delete(key);
    if (url) url.then((u) => URL.revokeObjectURL(u)).catch(() => {});
  }
}

function thumbnail(garment, className = "thumb") {
  const img = h("img", { class: className, alt: `${human(garment.category)}`, loading: "lazy" });
  const frame = h("div", { class: `${className}-frame loading` }, img);
  imageUrl(garment.id)
    .then((url) => {
      img.src = url;
      frame.classList.remove("loading");
    })
    .catch(() => {
      img.remove(); // no broken-image icon: the frame says "No picture"
      frame.classList.remove("loading");
      frame.classList.add("missing");
      frame.setAttribute("role", "img");
      frame.setAttribute("aria-label", `${human(garment.category)} (no picture)`);
    });
  return frame;
}

function swatches(colours) {
  return h(
    "ul",
    { class: "swatches", "aria-label": "Colours" },
    (colours || []).slice(0, 4).map((c) => {
      const dot = h("span", { class: "dot", "aria-hidden": "true" });
      dot.style.backgroundColor = state.words.colours[c.colour] || "#ccc"; // CSSOM: CSP-safe
      return h("li", { title: `${human(c.colour)} ${percent(c.share)}` }, dot, h("span", { class: "visually-hidden" }, human(c.colour)));
    }),
  );
}

function tags(garment) {
  const a = garment.attributes || {};
  const words = [a.pattern, ...(a.style_tags || []).slice(0, 2)].filter(Boolean);
  return h("ul", { class: "tags", "aria-label": "Tags" }, words.map((w) => h("li", {}, human(w))));
}

function garmentCard(garment, extra) {
  const open = () => openDetail(garment.id);
  return h(
    "li",
    { class: "card garment", dataset: { id: garment.id } },
    h(
      "button",
      { type: "button", class: "card-open", onclick: open, "aria-label": `Open ${human(garment.category)}` },
      thumbnail(garment),
    ),
    h(
      "div",
      { class: "card-body" },
      h("p", { class: "card-title" }, human(garment.category), garment.correction ? h("span", { class: "badge", title: "You corrected this garment" }, "edited") : null),
      h("p", { class: "card-sub" }, human(garment.slot)),
      swatches(garment.attributes.colours),
      tags(garment),
      extra || null,
    ),
  );
}

// ---------------------------------------------------------------------------- sign in
async function showSignIn(message) {
  setSignedIn(false);
  show("signin");
  const help = $("#signin-help");
  $("#signin-error").textContent = message || "";
  try {
    const me = await api.me();
    $("#name-form").hidden = false;
    $("#key-form").hidden = true;
    help.textContent = me.auth ? "" : "Pick a name for your wardrobe.";
  } catch (err) {
    if (err.status === 401) {
      $("#key-form").hidden = false;
      $("#name-form").hidden = true;
      help.textContent = "This server asks for an API key.";
      $("#api-key").focus();
    } else {
      help.textContent = err.message;
    }
  }
}

async function signInWithKey(event) {
  event.preventDefault();
  const key = $("#api-key").value.trim();
  if (!key) {
    $("#signin-error").textContent = "Enter your API key.";
    return;
  }
  try {
    const me = await api.me(key);
    useSession({ key, user: me.user_id });
    $("#api-key").value = "";
    await start();
  } catch (err) {
    $("#signin-error").textContent = err.status === 401 ? "That key is not valid on this server." : err.message;
  }
}

async function signInWithName(event) {
  event.preventDefault();
  const input = $("#user-name");
  if (!input.checkValidity()) {
    $("#signin-error").textContent = "Use letters, digits and _ . : @ + - (starting with a letter or digit).";
    return;
  }
  useSession({ user: input.value.trim() });
  await start();
}

function setSignedIn(on) {
  $("#tabs").hidden = !on;
  $("#account").hidden = !on;
  const session = currentSession();
  $("#who").textContent = on && session ? session.user : "";
}

function signOut() {
  useSession(null);
  for (const id of [...images.keys()]) forgetImages(id.split(":").slice(1).join(":"));
  fill($("#grid"));
  fill($("#outfits"));
  fill($("#uploads"));
  fill($("#search-results"));
  showSignIn("Signed out.");
}

// ---------------------------------------------------------------------------- views
function show(view) {
  for (const section of $$(".view")) section.hidden = section.id !== `view-${view}`;
  for (const link of $$("#tabs a")) {
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function route() {
  if (!currentSession()) return;
  const view = VIEWS.includes(location.hash.slice(1)) ? location.hash.slice(1) : "wardrobe";
  show(view);
  if (view === "wardrobe") loadWardrobe();
  if (view === "plan") loadAroundChoices();
}

// ---------------------------------------------------------------------------- wardrobe
function fillFilters() {
  const w = state.words;
  options($("#filter-slot"), w.slots, { empty: "All slots" });
  options($("#filter-colour"), Object.keys(w.colours), { empty: "All colours" });
  fillCategoryFilter();
}

function fillCategoryFilter() {
  const slot = $("#filter-slot").value;
  const names = state.words.categories.filter((c) => !slot || c.slot === slot).map((c) => c.name);
  const keep = names.includes(state.filters.category) ? state.filters.category : "";
  options($("#filter-category"), names, { empty: "All categories", selected: keep });
  state.filters.category = keep;
}

async function loadWardrobe() {
  const grid = $("#grid");
  grid.setAttribute("aria-busy", "true");
  try {
    const page = await api.garments({ limit: PAGE_SIZE, offset: state.offset, ...state.filters });
    state.total = page.total;
    fill(grid, page.items.map((g) => garmentCard(g)));
    const filtered = Object.values(state.filters).some(Boolean);
    $("#wardrobe-empty").hidden = page.items.length > 0;
    $("#wardrobe-empty p").textContent = filtered ? "No garment matches these filters." : "No garments here yet.";
    $("#wardrobe-count").textContent = `${page.total} garment${page.total === 1 ? "" : "s"}${filtered ? " match" : ""}`;
    const first = page.total ? state.offset + 1 : 0;
    $("#page-info").textContent = `${first}–${state.offset + page.items.length} of ${page.total}`;
    $("#prev-page").disabled = state.offset === 0;
    $("#next-page").disabled = page.next_offset === null;
  } catch (err) {
    if (err.code === "unknown_user") {
      fill(grid);
      $("#wardrobe-empty").hidden = false;
      $("#wardrobe-count").textContent = "0 garments";
      $("#page-info").textContent = "";
      $("#prev-page").disabled = $("#next-page").disabled = true;
    } else handleError(err);
  } finally {
    grid.removeAttribute("aria-busy");
  }
}

function onFilter() {
  state.filters.slot = $("#filter-slot").value;
  fillCategoryFilter();
  state.filters.category = $("#filter-category").value;
  state.filters.colour = $("#filter-colour").value;
  state.offset = 0;
  loadWardrobe();
}

// ---------------------------------------------------------------------------- upload
let queue = [];
let running = 0;

function addFiles(files) {
  const list = $("#uploads");
  for (const file of files) {
    const bar = h("progress", { max: "1", value: "0", "aria-label": `Upload of ${file.name}` });
    const status = h("p", { class: "status" }, "Waiting…");
    const found = h("ul", { class: "found", "aria-label": "Garments found" });
    const row = h(
      "li",
      { class: "upload card", dataset: { state: "waiting" } },
      h("div", { class: "upload-head" }, h("span", { class: "name" }, file.name || "photo"), h("span", { class: "muted" }, bytes(file.size))),
      bar,
      status,
      found,
    );
    list.prepend(row);
    queue.push({ file, row, bar, status, found });
  }
  pump();
}

function pump() {
  while (running < PARALLEL_UPLOADS && queue.length) {
    const job = queue.shift();
    running += 1;
    upload(job).finally(() => {
      running -= 1;
      pump();
    });
  }
}

async function upload({ file, row, bar, status, found }) {
  const limit = state.maxUploadBytes;
  if (limit && file.size > limit) {
    // refused here: a browser may drop the connection when the server answers 413 mid-upload
    row.dataset.state = "error";
    status.textContent = `Too large: the photo has ${bytes(file.size)}; the limit is ${bytes(limit)}.`;
    return;
  }
  if (!file.size) {
    row.dataset.state = "error";
    status.textContent = "Empty file: the photo has 0 bytes.";
    return;
  }
  row.dataset.state = "uploading";
  status.textContent = "Uploading…";
  try {
    const result = await api.upload(file, (p) => {
      bar.value = p;
      status.textContent = p < 1 ? `Uploading… ${percent(p)}` : "Finding garments…";
    });
    bar.value = 1;
    const n = result.garments.length;
    row.dataset.state = n ? "done" : "empty";
    status.textContent = n ? `${n} garment${n === 1 ? "" : "s"} found` : "No garment found in this photo.";
    const warnings = (result.warnings || []).map((w) => w.message).filter(Boolean);
    if (warnings.length) status.append(h("span", { class: "warning" }, ` · ${warnings.join(" ")}`));
    fill(found, result.garments.map((g) => h("li", {}, h("button", { type: "button", class: "mini", onclick: () => openDetail(g.id), "aria-label": `Open ${human(g.category)}` }, thumbnail(g, "mini-thumb"), h("span", {}, human(g.category))))));
  } catch (err) {
    row.dataset.state = "error";
    bar.value = 0;
    status.textContent = uploadError(err);
  }
}

function uploadError(err) {
  const words = {
    too_large: "Too large",
    payload_too_large: "Too large",
    too_many_pixels: "Too large",
    not_an_image: "Not an image",
    unsupported_format: "Not a supported image",
    unsupported_media_type: "Not an image",
    too_small: "Too small",
    truncated: "Damaged image",
    corrupt: "Damaged image",
    empty: "Empty file",
  };
  const head = words[err.code];
  return head ? `${head}: ${err.message}` : err.message;
}

// ---------------------------------------------------------------------------- detail
async function openDetail(id) {
  const dialog = $("#detail");
  try {
    const garment = await api.garment(id);
    state.detail = garment;
    renderDetail(garment);
    if (!dialog.open) dialog.showModal();
  } catch (err) {
    handleError(err);
  }
}

function renderDetail(g) {
  $("#detail-title").textContent = human(g.category);
  const crop = $("#detail-crop");
  crop.alt = `${human(g.category)}, cropped from its photo`;
  crop.removeAttribute("src");
  imageUrl(g.id).then((u) => (crop.src = u)).catch(() => (crop.alt = "No picture stored"));
  const photo = $("#detail-photo");
  photo.alt = `The photo the ${human(g.category).toLowerCase()} was found in, its box drawn`;
  photo.removeAttribute("src");
  $("#detail-box").hidden = true;
  photo.onload = () => drawBox(g, photo);
  imageUrl(g.id, "photo").then((u) => (photo.src = u)).catch(() => (photo.alt = "No photo stored"));
  renderAttributes(g);
  fillEditForm(g);
}

function drawBox(g, photo) {
  const box = $("#detail-box");
  if (!g.box || !photo.naturalWidth) return;
  const [x1, y1, x2, y2] = g.box;
  const w = photo.naturalWidth;
  const ht = photo.naturalHeight;
  // percentages of the picture: the box follows the image at any size (CSSOM, CSP-safe)
  Object.assign(box.style, {
    left: `${(100 * x1) / w}%`,
    top: `${(100 * y1) / ht}%`,
    width: `${(100 * (x2 - x1)) / w}%`,
    height: `${(100 * (y2 - y1)) / ht}%`,
  });
  box.hidden = false;
}

function renderAttributes(g) {
  const a = g.attributes || {};
  const p = g.prediction;
  const pa = (p && p.attributes) || a;
  const row = (name, value, confidence, changed) =>
    h("tr", { class: changed ? "changed" : null }, h("th", { scope: "row" }, name), h("td", {}, value, changed ? h("span", { class: "badge" }, "corrected") : null), h("td", {}, confidence));
  const list = (xs) => (xs && xs.length ? xs.map(human).join(", ") : "—");
  const corrected = (field) => Boolean(g.correction && (field === "category" ? g.correction.category : field in g.correction.attributes));
  const sure = (attrs, field) => (attrs.confidence && field in attrs.confidence ? ` (${percent(attrs.confidence[field])})` : "");
  // the tagger's confidence, or what the model said when the user corrected it
  const predictedNote = (field, text) => (corrected(field) ? `model said ${text}${sure(pa, field)}` : sure(a, field).slice(2, -1) || "—");
  fill(
    $("#detail-attributes"),
    row("Category", human(g.category), corrected("category") ? `model said ${human(p.category)} (${percent(p.category_confidence)})` : percent(g.category_confidence), corrected("category")),
    row("Slot", human(g.slot), "", false),
    row("Pattern", human(a.pattern), predictedNote("pattern", human(pa.pattern)), corrected("pattern")),
    row("Fit", human(a.fit), predictedNote("fit", human(pa.fit)), corrected("fit")),
    // the classifier's length answer, for the garments that have sleeves or legs
    ...["sleeves", "legs"].filter((part) => a[part]).map((part) => row(human(part), human(a[part]), predictedNote(part, human(pa[part])), corrected(part))),
    row("Formality", a.formality === null || a.formality === undefined ? "—" : `${Number(a.formality).toFixed(2)} (0 casual – 1 formal)`, corrected("formality") ? `model said ${pa.formality === null ? "—" : Number(pa.formality).toFixed(2)}` : "a score, not a class", corrected("formality")),
    row("Seasons", list(a.seasons), predictedNote("seasons", list(pa.seasons)), corrected("seasons")),
    row("Style", list(a.style_tags), predictedNote("style_tags", list(pa.style_tags)), corrected("style_tags")),
    (a.colours || []).map((c, i) => row(i === 0 ? "Colours" : "", h("span", { class: "colour-cell" }, swatches([c]), human(c.colour)), `${percent(c.share)} of the garment`, corrected("colours"))),
    (g.quality_warnings || []).length ? row("Photo", list(g.quality_warnings), "", false) : null,
  );
  const note = $("#detail-correction");
  note.textContent = g.correction ? `Corrected by ${g.correction.corrected_by} on ${new Date(g.correction.corrected_at).toLocaleString()}.` : "As the models saw it. Correct anything that is wrong: your corrections are kept and used to improve the models.";
  $("#edit-revert").hidden = !g.correction;
}

function checks(container, name, values, chosen) {
  fill(
    container,
    values.map((v) => {
      const id = `edit-${name}-${v}`;
      return h("span", { class: "check" }, h("input", { type: "checkbox", id, name, value: v, checked: chosen.includes(v) }), h("label", { for: id }, human(v)));
    }),
  );
}

function fillEditForm(g) {
  const w = state.words;
  const a = g.attributes || {};
  options($("#edit-category"), w.categories.map((c) => c.name), { selected: g.category, label: (n) => `${human(n)} (${human(categorySlot(n))})` });
  options($("#edit-pattern"), w.patterns, { empty: "Not known", selected: a.pattern });
  options($("#edit-fit"), w.fits, { empty: "Not known", selected: a.fit });
  const main = a.colours && a.colours[0] ? a.colours[0].colour : "";
  options($("#edit-colour"), Object.keys(w.colours), { empty: "Not known", selected: main });
  const formality = $("#edit-formality");
  formality.value = a.formality ?? 0.5;
  delete formality.dataset.touched;
  $("#edit-formality-out").textContent = Number(formality.value).toFixed(2);
  checks($("#edit-seasons"), "seasons", w.seasons, a.seasons || []);
  checks($("#edit-styles"), "style_tags", w.style_tags, a.style_tags || []);
  $("#edit-error").textContent = "";
}

function sameList(x, y) {
  return JSON.stringify([...(x || [])].sort()) === JSON.stringify([...(y || [])].sort());
}

/** Only what the user changed, as a merge patch. */
function editPatch(g) {
  const form = $("#edit-form");
  const a = g.attributes || {};
  const patch = {};
  const attrs = {};
  const category = form.category.value;
  if (category !== g.category) patch.category = category;
  const pattern = form.pattern.value || null;
  if (pattern !== (a.pattern ?? null) && pattern) attrs.pattern = pattern;
  const fit = form.fit.value || null;
  if (fit !== (a.fit ?? null) && fit) attrs.fit = fit;
  if (form.formality.dataset.touched) attrs.formality = Number(form.formality.value); // moved by the user
  const seasons = $$("#edit-seasons input:checked").map((i) => i.value);
  if (!sameList(seasons, a.seasons)) attrs.seasons = seasons;
  const styles = $$("#edit-styles input:checked").map((i) => i.value);
  if (!sameList(styles, a.style_tags)) attrs.style_tags = styles;
  const colour = form.colour.value;
  const colours = a.colours || [];
  if (colour && (!colours[0] || colours[0].colour !== colour)) attrs.colours = mainColour(colours, colour);
  if (Object.keys(attrs).length) patch.attributes = attrs;
  return patch;
}

/** The colour list with `colour` made the main one (largest share), shares kept <= 1. */
function mainColour(colours, colour) {
  const top = colours.length ? colours[0].share : 1;
  const rest = colours.filter((c) => c.colour !== colour);
  const list = [{ colour, share: Math.max(top, 0.5) }, ...rest.map((c) => ({ ...c }))];
  const sum = list.reduce((s, c) => s + c.share, 0);
  if (sum > 1) for (const c of list) c.share = Math.floor((c.share / sum) * 1000) / 1000;
  return list;
}

async function saveCorrection(event) {
  event.preventDefault();
  const g = state.detail;
  const patch = editPatch(g);
  if (!Object.keys(patch).length) {
    $("#edit-error").textContent = "Nothing changed.";
    return;
  }
  await applyPatch(g, patch, "Correction saved.");
}

async function revertCorrection() {
  const g = state.detail;
  const attrs = Object.fromEntries(Object.keys((g.correction && g.correction.attributes) || {}).map((k) => [k, null]));
  await applyPatch(g, { category: null, attributes: attrs }, "Back to the prediction.");
}

async function applyPatch(g, patch, message) {
  try {
    const updated = await api.correct(g.id, patch);
    state.detail = updated;
    renderDetail(updated);
    toast(message);
    refreshCards(updated);
  } catch (err) {
    $("#edit-error").textContent = err.message;
  }
}

/** Re-draw the cards of a changed garment wherever they are. */
function refreshCards(g) {
  for (const card of $$(`li.garment`)) {
    if (card.dataset.id === g.id) card.replaceWith(garmentCard(g));
  }
}

async function deleteGarment() {
  const g = state.detail;
  if (!confirm(`Delete this ${human(g.category).toLowerCase()} from your wardrobe? Its photo goes too when it was the photo's last garment.`)) return;
  try {
    await api.remove(g.id);
    forgetImages(g.id);
    $("#detail").close();
    for (const card of $$(`li.garment`)) if (card.dataset.id === g.id) card.remove();
    toast(`${human(g.category)} deleted.`);
    if (!$("#view-wardrobe").hidden) loadWardrobe();
  } catch (err) {
    handleError(err);
  }
}

async function findSimilar() {
  const g = state.detail;
  $("#detail").close();
  location.hash = "#search";
  $("#search-status").textContent = `Garments like your ${human(g.category).toLowerCase()}…`;
  try {
    const blob = await api.image(g.id);
    showHits(await api.searchPhoto(blob), g.id);
  } catch (err) {
    handleError(err);
  }
}

function planAround() {
  const g = state.detail;
  $("#detail").close();
  location.hash = "#plan";
  loadAroundChoices(g.id);
}

// ---------------------------------------------------------------------------- plan
async function loadAroundChoices(selected) {
  const select = $("#plan-around");
  const keep = selected || select.value;
  try {
    const page = await api.garments({ limit: 100 });
    const items = page.items.map((g) => h("option", { value: g.id, selected: g.id === keep }, `${human(g.category)}${g.attributes.colours[0] ? `, ${g.attributes.colours[0].colour}` : ""}`));
    fill(select, h("option", { value: "" }, "No particular garment"), items);
  } catch {
    /* an empty wardrobe: nothing to build around */
  }
}

async function plan(event) {
  event.preventDefault();
  const form = $("#plan-form");
  const constraints = {};
  if (form.occasion.value) constraints.occasion = form.occasion.value;
  if (form.temperature.value !== "") constraints.temperature_c = Number(form.temperature.value);
  if (form.rain.checked) constraints.rain = true;
  if (form.around.value) constraints.include_ids = [form.around.value];
  const body = { k: Number(form.k.value) };
  if (Object.keys(constraints).length) body.constraints = constraints;
  if (form.text.value.trim()) body.text = form.text.value.trim();
  const status = $("#plan-status");
  status.textContent = "Planning…";
  fill($("#outfits"));
  try {
    const result = await api.recommend(body);
    const n = result.outfits.length;
    status.textContent = n ? `${n} outfit${n === 1 ? "" : "s"}, best first` : sentence(result.reason || "No outfit fits these constraints.");
    const garments = await garmentsById(result.outfits.flatMap((o) => o.garment_ids));
    fill($("#outfits"), result.outfits.map((o, i) => outfitCard(o, i, garments)));
  } catch (err) {
    status.textContent = err.code === "unknown_user" ? "Add some photos first: your wardrobe is empty." : err.message;
  }
}

async function garmentsById(ids) {
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map((id) => api.garment(id).catch(() => null)));
  return new Map(found.filter(Boolean).map((g) => [g.id, g]));
}

function sentence(text) {
  const t = String(text);
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

function explanationText(explanation) {
  if (explanation === null || explanation === undefined) return "";
  if (typeof explanation === "string") return explanation;
  if (Array.isArray(explanation)) return explanation.map(explanationText).join(" ");
  return Object.values(explanation).map(explanationText).join(" ");
}

function outfitCard(outfit, index, garments) {
  const status = h("p", { class: "feedback-status", "aria-live": "polite" });
  const send = (signal, button) => async () => {
    try {
      await api.feedback({ signal, outfit_id: outfit.outfit_id });
      for (const b of button.parentElement.querySelectorAll("button")) b.removeAttribute("aria-pressed");
      button.setAttribute("aria-pressed", "true");
      status.textContent = { like: "Liked: more like this next time.", dislike: "Disliked: less like this next time.", wear: "Marked as worn today.", skip: "Skipped." }[signal];
    } catch (err) {
      status.textContent = err.message;
    }
  };
  const buttons = h("div", { class: "feedback", role: "group", "aria-label": `Feedback on outfit ${index + 1}` });
  for (const [signal, label] of [["like", "Like"], ["dislike", "Dislike"], ["wear", "Wear today"], ["skip", "Skip"]]) {
    const b = h("button", { type: "button", dataset: { signal } }, label);
    b.addEventListener("click", send(signal, b));
    buttons.append(b);
  }
  const pieces = outfit.garment_ids.map((id) => {
    const g = garments.get(id) || { id, category: "garment", attributes: { colours: [] } };
    return h("li", {}, h("button", { type: "button", class: "piece", onclick: () => openDetail(id), "aria-label": `Open ${human(g.category)}` }, thumbnail(g, "piece-thumb"), h("span", {}, human(g.category))));
  });
  return h(
    "li",
    { class: "card outfit", dataset: { outfit: outfit.outfit_id } },
    h("div", { class: "outfit-head" }, h("h2", {}, `Outfit ${index + 1}`), h("span", { class: "score", title: "How well the pieces go together (0–1)" }, `Score ${Number(outfit.score).toFixed(2)}`)),
    h("ul", { class: "pieces" }, pieces),
    h("p", { class: "explanation" }, outfit.explanation ? sentence(explanationText(outfit.explanation)) : ""),
    buttons,
    status,
  );
}

// ---------------------------------------------------------------------------- search
async function searchText(event) {
  event.preventDefault();
  const text = $("#search-text").value.trim();
  if (!text) return;
  $("#search-status").textContent = "Searching…";
  try {
    showHits(await api.searchText(text));
  } catch (err) {
    $("#search-status").textContent = err.code === "unknown_user" ? "Your wardrobe is empty: add photos first." : err.message;
  }
}

async function searchPhoto(event) {
  event.preventDefault();
  const file = $("#search-photo").files[0];
  if (!file) return;
  $("#search-status").textContent = "Searching…";
  try {
    showHits(await api.searchPhoto(file));
  } catch (err) {
    $("#search-status").textContent = err.message;
  }
}

function showHits(result, skipId) {
  const hits = result.hits.filter((hit) => hit.garment.id !== skipId);
  $("#search-status").textContent = hits.length ? `${hits.length} garment${hits.length === 1 ? "" : "s"}, closest first` : "Nothing found.";
  fill($("#search-results"), hits.map((hit) => garmentCard(hit.garment, h("p", { class: "similarity", title: "cosine similarity of the embeddings (-1 to 1)" }, `Similarity ${Number(hit.similarity).toFixed(2)}`))));
}

// ---------------------------------------------------------------------------- errors
function handleError(err) {
  if (err.status === 401) {
    useSession(null);
    showSignIn("Your key is no longer accepted: sign in again.");
    return;
  }
  toast(err.message, "error");
}

// ---------------------------------------------------------------------------- start
async function start() {
  const session = currentSession();
  if (!session) return showSignIn();
  try {
    state.maxUploadBytes = (await api.me(session.key)).max_upload_bytes;
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      useSession(null);
      return showSignIn("Sign in again.");
    }
  }
  if (!state.words) {
    state.words = await api.vocabulary();
    fillFilters();
    options($("#plan-occasion"), state.words.occasions, { empty: "Any" });
  }
  setSignedIn(true);
  if (!location.hash) history.replaceState(null, "", "#wardrobe");
  route();
  $("#main").focus({ preventScroll: true });
}

function wire() {
  $("#key-form").addEventListener("submit", signInWithKey);
  $("#name-form").addEventListener("submit", signInWithName);
  $("#sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);

  const filters = $("#filters");
  filters.addEventListener("change", onFilter);
  filters.addEventListener("reset", () => setTimeout(onFilter));
  $("#prev-page").addEventListener("click", () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    loadWardrobe();
  });
  $("#next-page").addEventListener("click", () => {
    state.offset += PAGE_SIZE;
    loadWardrobe();
  });

  for (const input of [$("#file-input"), $("#camera-input")]) {
    input.addEventListener("change", () => {
      addFiles([...input.files]);
      input.value = "";
    });
  }
  const zone = $("#dropzone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    addFiles([...e.dataTransfer.files].filter((f) => f.type.startsWith("image/") || !f.type));
  });

  $("#detail-close").addEventListener("click", () => $("#detail").close());
  $("#detail").addEventListener("click", (e) => e.target === $("#detail") && $("#detail").close());
  $("#edit-form").addEventListener("submit", saveCorrection);
  $("#edit-revert").addEventListener("click", revertCorrection);
  $("#edit-formality").addEventListener("input", (e) => {
    e.target.dataset.touched = "yes";
    $("#edit-formality-out").textContent = Number(e.target.value).toFixed(2);
  });
  $("#detail-delete").addEventListener("click", deleteGarment);
  $("#detail-similar").addEventListener("click", findSimilar);
  $("#detail-plan").addEventListener("click", planAround);

  $("#plan-form").addEventListener("submit", plan);
  $("#search-text-form").addEventListener("submit", searchText);
  $("#search-photo-form").addEventListener("submit", searchPhoto);
}

wire();
start();
