import { SseParser } from "./sse";

/** What {@link readReply} reports as the answer streams in (the widget renders deltas and raises its DOM events). */
export interface ReplyHandlers {
  /** A piece of the answer's text, in order. */
  delta(text: string): void;
  /** A `lead` event: the conversation's lead was recorded or updated (`{ urgency, staffAlerted }`). */
  lead(data: Record<string, unknown>): void;
  /** An `error` event: the server could not complete the answer (`{ code, message }`). */
  error(data: Record<string, unknown>): void;
}

/**
 * How an answer stream ended: `done` (the server's closing `done` event arrived), `error` (the server sent an `error`
 * event), or `cut` (the stream closed or failed before either: the connection dropped or the server restarted, so
 * what was shown is only part of the answer).
 */
export type ReplyEnd = "done" | "error" | "cut";

/**
 * Reads the `text/event-stream` answer of `POST /widget/v1/conversations/{id}/messages` (events `delta`, `lead`,
 * `error`, then `done`) to its end. A read failure or a stream that closes before `done` or `error` gives `cut`; an
 * event whose data is not JSON is skipped.
 */
export async function readReply(body: ReadableStream<BufferSource>, on: ReplyHandlers): Promise<ReplyEnd> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  let end: ReplyEnd = "cut";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const event of parser.push(value)) {
        let data: Record<string, unknown>;
        try {
          data = JSON.parse(event.data) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (event.event === "delta" && typeof data.text === "string") {
          on.delta(data.text);
        } else if (event.event === "lead") {
          on.lead(data);
        } else if (event.event === "error") {
          end = "error";
          on.error(data);
        } else if (event.event === "done" && end !== "error") {
          end = "done";
        }
      }
    }
  } catch {
    // The connection failed mid-answer: whatever ended it, the answer is incomplete unless the server said otherwise.
  }
  return end;
}
