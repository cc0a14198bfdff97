// Paint a mask on an image: the painted strokes become the transparent areas of a PNG the size of the
// image, which is where OpenAI's image edits change the picture.
import { field, h } from "../dom.js";

const BRUSH = 0.08; // of the image's larger side

/** {element, image(), mask()}: an image file input, a canvas to paint on, and a "clear" button. */
export function maskPainter() {
  const file = h("input", { id: "images-edit-file", type: "file", accept: "image/png,image/jpeg,image/webp" });
  const canvas = h("canvas", { id: "images-mask-canvas", width: 256, height: 256, class: "mask-canvas",
                               "aria-label": "The image: paint where it should change" });
  const clear = h("button", { type: "button", class: "secondary" }, "Clear mask");
  const view = canvas.getContext("2d");
  let picture = null;
  let mask = null; // an offscreen canvas at the image's own size: opaque, cleared where painted
  let painted = false;
  let drawing = false;

  function redraw() {
    view.clearRect(0, 0, canvas.width, canvas.height);
    if (!picture) return;
    view.drawImage(picture, 0, 0, canvas.width, canvas.height);
    if (painted) {
      const overlay = document.createElement("canvas");
      overlay.width = canvas.width;
      overlay.height = canvas.height;
      const o = overlay.getContext("2d");
      o.fillStyle = "rgba(220, 38, 38, 0.55)";
      o.fillRect(0, 0, overlay.width, overlay.height);
      o.globalCompositeOperation = "destination-out";
      o.drawImage(mask, 0, 0, overlay.width, overlay.height);
      view.drawImage(overlay, 0, 0);
    }
  }

  function resetMask() {
    mask = document.createElement("canvas");
    mask.width = picture.naturalWidth;
    mask.height = picture.naturalHeight;
    const m = mask.getContext("2d");
    m.fillStyle = "#000";
    m.fillRect(0, 0, mask.width, mask.height);
    painted = false;
    redraw();
  }

  function paint(event) {
    if (!drawing || !picture) return;
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * mask.width;
    const y = ((event.clientY - box.top) / box.height) * mask.height;
    const m = mask.getContext("2d");
    m.globalCompositeOperation = "destination-out";
    m.beginPath();
    m.arc(x, y, Math.max(mask.width, mask.height) * BRUSH, 0, Math.PI * 2);
    m.fill();
    painted = true;
    redraw();
  }

  file.addEventListener("change", () => {
    const chosen = file.files[0];
    if (!chosen) return;
    const img = new Image();
    img.onload = () => {
      picture = img;
      const scale = 256 / Math.max(img.naturalWidth, img.naturalHeight);
      canvas.width = Math.round(img.naturalWidth * scale);
      canvas.height = Math.round(img.naturalHeight * scale);
      resetMask();
    };
    img.src = URL.createObjectURL(chosen);
  });
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    paint(event);
  });
  canvas.addEventListener("pointermove", paint);
  canvas.addEventListener("pointerup", () => { drawing = false; });
  clear.addEventListener("click", () => picture && resetMask());

  return {
    element: h("div", {}, field("Image", file), canvas, h("div", {}, clear)),
    image: () => file.files[0] || null,
    /** The mask as a PNG blob, or null when nothing was painted (then the whole image is edited). */
    mask: () => (painted ? new Promise((done) => mask.toBlob(done, "image/png")) : Promise.resolve(null)),
  };
}
