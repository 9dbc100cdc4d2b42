// gtmkit chunked upload: send a file to the kernel as binary chunks well under Jupyter's
// ~10 MB websocket message limit. The kernel says whether it accepts the file (size limit),
// acknowledges every chunk (so at most `window` chunks are in flight), and owns the state
// shown here (status, message, bytes received), so a re-rendered view shows the truth.

const ACK_TIMEOUT_MS = 60000;

function render({ model, el }) {
  el.classList.add("gtmkit-upload");
  const row = document.createElement("div");
  row.className = "gtmkit-upload-row";
  const label = document.createElement("label");
  label.className = "gtmkit-button gtmkit-upload-choose";
  label.textContent = "Upload a list…";
  const input = document.createElement("input");
  input.type = "file";
  input.className = "gtmkit-upload-input";
  input.accept = model.get("accept");
  label.appendChild(input);
  const hint = document.createElement("span");
  hint.className = "gtmkit-upload-hint";
  row.append(label, hint);

  const bar = document.createElement("progress");
  bar.className = "gtmkit-upload-progress";
  bar.max = 1;
  bar.value = 0;
  const message = document.createElement("div");
  message.className = "gtmkit-upload-message";
  el.append(row, bar, message);

  // replies from the kernel, in order; each waiter gets the next one
  const replies = [];
  const waiters = [];
  function onCustom(msg) {
    if (!msg || typeof msg.kind !== "string") return;
    if (waiters.length) waiters.shift()(msg);
    else replies.push(msg);
  }
  model.on("msg:custom", onCustom);
  function nextReply() {
    if (replies.length) return Promise.resolve(replies.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error("the kernel stopped answering"));
      }, ACK_TIMEOUT_MS);
      function done(msg) {
        clearTimeout(timer);
        resolve(msg);
      }
      waiters.push(done);
    });
  }

  function show() {
    const total = model.get("total_bytes");
    const received = model.get("received_bytes");
    const status = model.get("status");
    bar.max = total > 0 ? total : 1;
    bar.value = total > 0 ? received : status === "done" ? 1 : 0;
    bar.style.visibility = status === "idle" || status === "refused" ? "hidden" : "visible";
    message.textContent = model.get("message");
    message.dataset.status = status;
    el.dataset.status = status;
    const mb = model.get("limit_bytes") / (1024 * 1024);
    hint.textContent = `CSV, TSV, XLSX, XLS or Parquet, up to ${Math.round(mb)} MB`;
  }
  for (const name of ["status", "message", "received_bytes", "total_bytes", "limit_bytes"]) {
    model.on(`change:${name}`, show);
  }
  show();

  let busy = false;
  async function send(file) {
    busy = true;
    replies.length = 0;
    try {
      model.send({ kind: "start", name: file.name, size: file.size });
      const first = await nextReply();
      if (first.kind !== "accepted") return; // refused: the kernel set the message
      const id = first.id;
      const chunk = first.chunk_bytes;
      const room = first.window * chunk;
      let sent = 0;
      let acked = 0;
      async function waitAck() {
        const reply = await nextReply();
        if (reply.kind !== "ack" || reply.id !== id) throw new Error(reply.message || "upload failed");
        acked = reply.received;
      }
      while (sent < file.size) {
        while (sent - acked >= room) await waitAck();
        const buffer = await file.slice(sent, sent + chunk).arrayBuffer();
        model.send({ kind: "chunk", id, offset: sent }, undefined, [buffer]);
        sent += buffer.byteLength;
      }
      while (acked < file.size) await waitAck();
      model.send({ kind: "end", id });
    } catch (err) {
      message.textContent = `Upload stopped: ${err.message}. Run the panel's cell again if the kernel was restarted, then pick the file again.`;
      el.dataset.status = "failed";
    } finally {
      busy = false;
      input.value = ""; // the same file can be picked again
    }
  }
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    if (file && !busy) send(file);
  });
  // drop a file anywhere on the widget
  el.addEventListener("dragover", (event) => {
    event.preventDefault();
    el.classList.add("gtmkit-drop");
  });
  el.addEventListener("dragleave", () => el.classList.remove("gtmkit-drop"));
  el.addEventListener("drop", (event) => {
    event.preventDefault();
    el.classList.remove("gtmkit-drop");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file && !busy) send(file);
  });
  return () => model.off("msg:custom", onCustom);
}

export default { render };
