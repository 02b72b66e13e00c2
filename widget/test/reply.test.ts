import { describe, expect, it } from "vitest";
import { readReply } from "../src/reply";

/** A byte stream that sends `chunks`, then closes, or errors when `fail` is set (a dropped connection). */
function stream(chunks: string[], fail = false): ReadableStream<BufferSource> {
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<BufferSource>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(encoder.encode(chunks[i++]));
      else if (fail) controller.error(new TypeError("network error"));
      else controller.close();
    },
  });
}

async function read(chunks: string[], fail = false) {
  const seen: string[] = [];
  const end = await readReply(stream(chunks, fail), {
    delta: (text) => seen.push("delta:" + text),
    lead: (data) => seen.push("lead:" + String(data.urgency)),
    error: (data) => seen.push("error:" + String(data.code)),
  });
  return { end, seen };
}

describe("readReply", () => {
  it("ends with done when the server's done event arrives", async () => {
    const r = await read([
      'event: delta\ndata: {"text":"Le technicien "}\n\n',
      'event: lead\ndata: {"urgency":"emergency","staffAlerted":true}\n\nevent: delta\ndata: {"text":"est prévenu."}\n\n',
      'event: done\ndata: {"messageId":"m1","brain":"offline"}\n\n',
    ]);
    expect(r).toEqual({ end: "done", seen: ["delta:Le technicien ", "lead:emergency", "delta:est prévenu."] });
  });

  it("reports a stream that closes before done as cut, not as a whole answer", async () => {
    const r = await read(['event: delta\ndata: {"text":"Le technicien de garde"}\n\n']);
    expect(r).toEqual({ end: "cut", seen: ["delta:Le technicien de garde"] });
  });

  it("reports a connection that fails mid-answer as cut", async () => {
    const r = await read(['event: delta\ndata: {"text":"Le tech"}\n\n'], true);
    expect(r).toEqual({ end: "cut", seen: ["delta:Le tech"] });
  });

  it("reports the server's error event as error, even when done follows", async () => {
    const r = await read([
      'event: delta\ndata: {"text":"Un"}\n\nevent: error\ndata: {"code":"REPLY_FAILED","message":"x"}\n\n',
      'event: done\ndata: {}\n\n',
    ]);
    expect(r).toEqual({ end: "error", seen: ["delta:Un", "error:REPLY_FAILED"] });
  });

  it("skips an event whose data is not JSON instead of abandoning the answer", async () => {
    const r = await read(['event: ping\ndata: keep-alive\n\nevent: delta\ndata: {"text":"ok"}\n\nevent: done\ndata: {}\n\n']);
    expect(r).toEqual({ end: "done", seen: ["delta:ok"] });
  });
});
