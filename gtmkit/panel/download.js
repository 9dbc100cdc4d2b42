// gtmkit downloads: ask the kernel for the result in a format; it answers with the file in
// binary chunks (each well under the websocket's message limit), assembled here into a Blob
// the browser saves under the file's name.

function render({ model, el }) {
  el.classList.add("gtmkit-download");
  const note = document.createElement("span");
  note.className = "gtmkit-download-note";
  const buttons = [];
  for (const format of model.get("formats")) {
    const button = document.createElement("button");
    button.className = "gtmkit-button gtmkit-download-button";
    button.dataset.format = format;
    button.textContent = `Download ${format.toUpperCase()}`;
    button.addEventListener("click", () => {
      note.textContent = `preparing ${format.toUpperCase()}…`;
      model.send({ kind: "request", format });
    });
    buttons.push(button);
    el.appendChild(button);
  }
  el.appendChild(note);

  function show() {
    for (const button of buttons) button.disabled = !model.get("enabled");
    note.textContent = model.get("note");
  }
  model.on("change:enabled", show);
  model.on("change:note", show);
  show();

  const files = new Map();
  function onCustom(msg, buffers) {
    if (!msg || typeof msg.kind !== "string") return;
    if (msg.kind === "file") {
      files.set(msg.id, { name: msg.name, mime: msg.mime, parts: [] });
    } else if (msg.kind === "chunk" && files.has(msg.id)) {
      const view = buffers[0];
      files.get(msg.id).parts.push(view.buffer ? view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength) : view);
    } else if (msg.kind === "end" && files.has(msg.id)) {
      const file = files.get(msg.id);
      files.delete(msg.id);
      const url = URL.createObjectURL(new Blob(file.parts, { type: file.mime }));
      const link = document.createElement("a");
      link.href = url;
      link.download = file.name;
      link.style.display = "none";
      el.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }
  }
  model.on("msg:custom", onCustom);
  return () => model.off("msg:custom", onCustom);
}

export default { render };
