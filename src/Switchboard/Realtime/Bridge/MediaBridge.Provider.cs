using System.Buffers;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Switchboard.Realtime.Audio;

namespace Switchboard.Realtime.Bridge;

/// <summary>The provider side of a call: opening, supervising and replacing the session, and its events (openai-realtime.md).</summary>
internal sealed partial class MediaBridge
{
    private async Task RunProviderAsync()
    {
        try
        {
            await SuperviseProviderAsync();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Provider side of the bridge failed");
            await FailOverAsync("failed inside the bridge");
        }
    }

    private async Task SuperviseProviderAsync()
    {
        if (!await OpenSessionAsync(replay: false))
        {
            await FailOverAsync("could not be reached at the start of the call");
            return;
        }
        TryGreet();
        while (true)
        {
            var session = provider!;
            await session.ReceiveTask;
            if (ending)
            {
                return;
            }
            bool wasSpeaking;
            int items;
            lock (gate)
            {
                ready = false;
                heldAudio = [];
                heldBytes = 0;
                wasSpeaking = responses.Reset();
                items = conversation.Count;
            }
            await DisposeSessionAsync(session);
            logger.LogInformation("Provider session {Number} ended mid-call: reconnecting and replaying {Items} items", session.Number, items);
            var reopened = false;
            while (!ending && reconnects < realtime.MaxReconnects && !reopened)
            {
                reconnects++;
                reopened = await OpenSessionAsync(replay: true);
                if (!reopened)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * reconnects), lifetime.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                }
            }
            if (ending)
            {
                return;
            }
            if (!reopened)
            {
                await FailOverAsync("dropped and could not be reached again");
                return;
            }
            services.Metrics.Reconnected();
            if (wasSpeaking)
            {
                RequestResponse(ResponseKind.Continue);
            }
        }
    }

    /// <summary>Connects, configures and (after a drop) replays the conversation; true once the session is ready.</summary>
    private async Task<bool> OpenSessionAsync(bool replay)
    {
        ProviderSession? session = null;
        var slot = false;
        var asked = Stopwatch.GetTimestamp();
        long turn = 0, connected = 0;
        try
        {
            // A bounded connect queue: a burst of calls connects a few sessions at a time, and the connect timeout runs from
            // this call's turn, so the node's own queue is not taken for an unreachable provider.
            slot = await services.Connector.AcquireSlotAsync(lifetime.Token);
            if (!slot)
            {
                logger.LogWarning("No provider connect turn within {Ms} ms", realtime.ConnectQueueMs);
                return false;
            }
            turn = Stopwatch.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
            // Counted while the node keeps up (ConnectDeadlines): a burst's backlog is not the provider's silence. Reaching
            // the provider at all is bounded apart, by the connector's TCP/TLS connect timeout.
            var handshakeMs = Math.Max(realtime.ConnectTimeoutMs, realtime.HandshakeTimeoutMs);
            using var deadline = services.Connector.Deadlines.Start(timeout, handshakeMs, Math.Max(handshakeMs, realtime.ConnectTimeoutCapMs));
            var socket = await services.Connector.ConnectAsync(setup.ProviderUri, setup.ApiKey, setup.ApiKeyHeader, timeout.Token);
            connected = Stopwatch.GetTimestamp();
            services.Connector.ReleaseSlot();
            slot = false;
            session = new ProviderSession(socket, new SocketSender(voice.SendQueueFrames, null), reconnects + 1);
            session.SendTask = session.Out.RunAsync(socket, lifetime.Token);
            lock (gate)
            {
                provider = session;
                transcriptionsPending = 0; // a new session: the old one's items will not be transcribed
            }
            session.AskedPcm = transcode || leg.Pcm16PassThrough;
            session.Out.TryEnqueue(RealtimeProtocol.SessionUpdate(setup, realtime, session.AskedPcm));
            session.ReceiveTask = Task.Run(() => ReceiveProviderAsync(session));
            await session.Handshake.Task.WaitAsync(timeout.Token);
            if (replay)
            {
                List<OutFrame> frames;
                lock (gate)
                {
                    frames = conversation.ReplayFrames();
                }
                foreach (var frame in frames)
                {
                    session.Out.TryEnqueue(frame);
                }
            }
            lock (gate)
            {
                if (transcode)
                {
                    session.Up = new Resampler8kTo24k();
                    session.Down = new Resampler24kTo8k();
                }
                if (heldAudio is { Count: > 0 } held)
                {
                    session.InputStartTimestamp = Stopwatch.GetTimestamp();
                    foreach (var chunk in held)
                    {
                        var frame = transcode ? AudioTranscoder.ToProvider(chunk, session.Up!) : Wire.Append(chunk);
                        if (frame.Buffer is not null)
                        {
                            session.Out.TryEnqueue(frame);
                        }
                    }
                }
                heldAudio = null;
                heldBytes = 0;
                ready = true;
            }
            return true;
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException or IOException or TimeoutException)
        {
            var now = Stopwatch.GetTimestamp();
            logger.LogWarning("Provider session could not be opened: {Error} ({QueueMs} ms waiting for a connect turn, {ConnectMs} ms connecting, {HandshakeMs} ms in the handshake)",
                e.Message, Ms(asked, turn == 0 ? now : turn), turn == 0 ? 0 : Ms(turn, connected == 0 ? now : connected), connected == 0 ? 0 : Ms(connected, now));
            if (session is not null)
            {
                await DisposeSessionAsync(session);
            }
            return false;
        }
        finally
        {
            if (slot)
            {
                services.Connector.ReleaseSlot();
            }
        }
    }

    private static long Ms(long from, long to) => (long)Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;

    private static async Task DisposeSessionAsync(ProviderSession session)
    {
        session.Out.Complete();
        session.Abort();
        await session.SendTask;
        await session.ReceiveTask.ContinueWith(_ => { }, TaskScheduler.Default);
        session.Socket.Dispose();
    }

    private async Task ReceiveProviderAsync(ProviderSession session)
    {
        using var reader = new MessageReader(2048, voice.MaxFrameBytes);
        try
        {
            while (!lifetime.IsCancellationRequested)
            {
                var (outcome, message) = await reader.ReceiveAsync(session.Socket, lifetime.Token);
                if (outcome is ReceiveOutcome.Closed or ReceiveOutcome.TooBig)
                {
                    if (outcome == ReceiveOutcome.TooBig)
                    {
                        services.Metrics.BadFrame();
                    }
                    return;
                }
                if (outcome == ReceiveOutcome.Text)
                {
                    try
                    {
                        HandleProviderFrame(session, message, Stopwatch.GetTimestamp());
                    }
                    catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or FormatException or ArgumentException)
                    {
                        // An event of an unexpected shape: skipped, the call goes on.
                        services.Metrics.BadFrame();
                        logger.LogWarning("Provider event skipped: {Error}", e.Message);
                    }
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
        }
        finally
        {
            session.Handshake.TrySetException(new WebSocketException("The provider closed the session."));
        }
    }

    private void HandleProviderFrame(ProviderSession session, ReadOnlyMemory<byte> message, long received)
    {
        ProviderFrame frame;
        try
        {
            frame = Wire.ReadProvider(message.Span);
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return;
        }
        if (frame.Type.SequenceEqual(Wire.OutputAudioDelta) || frame.Type.SequenceEqual(Wire.BetaAudioDelta))
        {
            OnAssistantAudio(session, frame.ItemId, frame.Delta, received);
            return;
        }
        if (frame.Type.SequenceEqual(Wire.OutputTranscriptDelta) || frame.Type.SequenceEqual(Wire.BetaTranscriptDelta))
        {
            var item = Encoding.UTF8.GetString(frame.ItemId);
            var text = Encoding.UTF8.GetString(frame.Delta);
            lock (gate)
            {
                if (conversation.AppendAssistantText(item, text, out var unfinished, out var unfinishedItem))
                {
                    AddAssistantTurn(unfinished, unfinishedItem);
                }
            }
            return;
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(message);
        }
        catch (JsonException)
        {
            services.Metrics.BadFrame();
            return;
        }
        using (doc)
        {
            HandleProviderEvent(session, Encoding.UTF8.GetString(frame.Type), doc.RootElement, received);
        }
    }

    private void HandleProviderEvent(ProviderSession session, string type, JsonElement e, long received)
    {
        switch (type)
        {
            case "session.updated":
                var format = e.TryGetProperty("session", out var s) && s.TryGetProperty("audio", out var a) && a.TryGetProperty("output", out var o)
                    && o.TryGetProperty("format", out var f) ? Str(f, "type") : null;
                lock (gate)
                {
                    // A provider that answers audio/pcm to our audio/pcmu gets transcoded audio.
                    transcode = !leg.Pcm16PassThrough && (format is "audio/pcm" || (format is null && session.AskedPcm));
                }
                session.Handshake.TrySetResult();
                break;
            case "error":
                OnProviderError(session, e);
                break;
            case "input_audio_buffer.speech_started":
                OnCallerSpeechStarted();
                break;
            case "input_audio_buffer.speech_stopped":
                var endMs = e.TryGetProperty("audio_end_ms", out var end) && end.TryGetInt64(out var ms) ? ms : -1;
                lock (gate)
                {
                    callerSpeaking = false;
                    policy.Activity(services.Clock.GetUtcNow());
                    var at = endMs >= 0 && session.InputStartTimestamp != 0
                        ? session.InputStartTimestamp + (endMs * Stopwatch.Frequency / 1000) : received;
                    latency.SpeechStopped(Math.Min(at, received));
                }
                break;
            case "input_audio_buffer.committed":
                lock (gate)
                {
                    transcriptionsPending++;
                }
                break;
            case "conversation.item.input_audio_transcription.completed":
                lock (gate)
                {
                    if (Str(e, "transcript") is { Length: > 0 } heard)
                    {
                        var text = heard.Trim();
                        conversation.Add(new HistoryItem("user", text));
                        AddTurn("user", text, null, null);
                    }
                    TranscriptionSettled();
                }
                break;
            case "conversation.item.input_audio_transcription.failed":
                lock (gate)
                {
                    TranscriptionSettled();
                }
                break;
            case "response.created":
                lock (gate)
                {
                    responses.Created();
                }
                break;
            case "response.done":
                lock (gate)
                {
                    var next = responses.Done(out var kind, out var reason);
                    StoreInterruptedText();
                    if (next)
                    {
                        RequestResponse(kind, reason);
                    }
                    CheckHangup();
                }
                break;
            case "response.output_audio.done" or "response.audio.done":
                lock (gate)
                {
                    SendMark();
                }
                break;
            case "response.output_audio_transcript.done" or "response.audio_transcript.done":
                if (Str(e, "transcript") is { } said)
                {
                    var item = Str(e, "item_id");
                    lock (gate)
                    {
                        conversation.CompleteAssistantText(item);
                        AddAssistantTurn(said, item);
                    }
                }
                break;
            case "response.function_call_arguments.done":
                if (Str(e, "name") is { } name && Str(e, "call_id") is { } callId)
                {
                    StartTool(name, callId, Str(e, "arguments") ?? "{}");
                }
                break;
        }
    }

    private void OnProviderError(ProviderSession session, JsonElement e)
    {
        var error = e.TryGetProperty("error", out var x) ? x : e;
        var code = Str(error, "code");
        var message = Str(error, "message");
        var param = Str(error, "param");
        if (code == "input_audio_buffer_commit_empty")
        {
            lock (gate)
            {
                transcriptionsFlushed?.TrySetResult(); // the hang-up's commit found no audio: nothing to wait for
            }
            return;
        }
        if (code == "session_expired")
        {
            logger.LogInformation("Provider session {Number} reached its time limit", session.Number);
            return;
        }
        if (!session.Handshake.Task.IsCompleted && !session.AskedPcm && !leg.Pcm16PassThrough && realtime.AudioFormat == "auto"
            && ((param?.Contains("format", StringComparison.OrdinalIgnoreCase) ?? false) || (message?.Contains("pcmu", StringComparison.OrdinalIgnoreCase) ?? false)))
        {
            // The provider refuses μ-law: ask for 24 kHz PCM16 and transcode.
            logger.LogInformation("Provider refused audio/pcmu ({Message}): transcoding to 24 kHz PCM16", message);
            lock (gate)
            {
                transcode = true;
            }
            session.AskedPcm = true;
            session.Out.TryEnqueue(RealtimeProtocol.SessionUpdate(setup, realtime, transcode: true));
            return;
        }
        if (code is "conversation_already_has_active_response")
        {
            lock (gate)
            {
                responses.Refused();
            }
        }
        logger.LogWarning("Provider error {Code}: {Message}", code, message);
    }

    /// <summary>One committed item's transcription arrived or failed; the hang-up's wait ends with the last one. Under <c>gate</c>.</summary>
    private void TranscriptionSettled()
    {
        transcriptionsPending = Math.Max(0, transcriptionsPending - 1);
        if (transcriptionsPending == 0)
        {
            transcriptionsFlushed?.TrySetResult();
        }
    }

    /// <summary>
    /// The caller hung up while speaking, or before the transcription of their last words came back: the audio is committed
    /// (when they were still speaking) and the bridge waits up to <see cref="HangupTranscriptWait"/> for the transcriptions, so
    /// the words reach the transcript and the post-call lead (an outside probe: "Sewage is backing up… call me back at 514 555
    /// 0166", then a hang-up 300 ms later, left only the greeting: no lead, no text to the on-call phone).
    /// </summary>
    private async Task FlushCallerSpeechAsync(ProviderSession session)
    {
        TaskCompletionSource waiter;
        lock (gate)
        {
            if (!callerSpeaking && transcriptionsPending == 0)
            {
                return;
            }
            waiter = transcriptionsFlushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (callerSpeaking)
            {
                callerSpeaking = false;
                SendToProvider(RealtimeProtocol.Commit); // its committed item counts when the server says so; its transcription settles it
            }
        }
        try
        {
            await waiter.Task.WaitAsync(HangupTranscriptWait, lifetime.Token);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            logger.LogInformation("The caller's last words were not transcribed within {Wait} of the hang-up", HangupTranscriptWait);
        }
    }

    private void OnCallerSpeechStarted()
    {
        var now = Stopwatch.GetTimestamp();
        lock (gate)
        {
            callerSpeaking = true;
            policy.CallerActivity(services.Clock.GetUtcNow());
            if (streamSid is null || !marks.TryInterrupt(now, leg.BytesPerMs, out var item, out var heardMs))
            {
                return; // nothing is playing: not a barge-in
            }
            SendToProvider(RealtimeProtocol.Truncate(item, heardMs));
            twilioOut.TryEnqueue(RealtimeProtocol.TwilioClear(streamSid));
            StoreInterruptedText();
            logger.LogDebug("Barge-in: item {Item} truncated at {Ms} ms", item, heardMs);
        }
    }

    /// <summary>The per-frame path towards the caller: one provider delta becomes one media frame (and sometimes a mark).</summary>
    private void OnAssistantAudio(ProviderSession session, ReadOnlySpan<byte> item, ReadOnlySpan<byte> delta, long received)
    {
        if (delta.IsEmpty)
        {
            return;
        }
        lock (gate)
        {
            if (mediaPrefix is null || marks.IsDropped(item))
            {
                return; // no stream yet, or the rest of an item the caller interrupted
            }
            var kind = FrameKind.Media;
            if (!marks.IsCurrent(item))
            {
                kind = FrameKind.FirstMedia;
                SendMark(); // the previous item's unmarked tail
                marks.BeginItem(item, received);
                if (latency.FirstAudio(item, received) is { } providerTicks)
                {
                    services.Metrics.ProviderTurnLatency.RecordTicks(providerTicks);
                }
            }
            OutFrame frame;
            long audioBytes;
            if (transcode)
            {
                frame = AudioTranscoder.ToTwilio(delta, session.Down ??= new Resampler24kTo8k(), mediaPrefix, kind, received, out audioBytes);
                if (frame.Buffer is null)
                {
                    return;
                }
            }
            else
            {
                frame = Wire.TwilioMedia(mediaPrefix, delta, kind, received);
                audioBytes = AudioTranscoder.DecodedLength(delta);
            }
            if (!twilioOut.TryEnqueue(frame))
            {
                services.Metrics.QueueOverflow();
                Ending("stream-stuck");
                lifetime.Cancel();
                return;
            }
            if (marks.AddAudio(audioBytes))
            {
                SendMark();
            }
        }
    }

    /// <summary>Queues a mark after the audio sent so far (under <see cref="gate"/>); its echo says that audio has played.</summary>
    private void SendMark()
    {
        if (markPrefix is not null && marks.TryNextMark(Stopwatch.GetTimestamp(), out var seq))
        {
            twilioOut.TryEnqueue(Wire.TwilioMark(markPrefix, seq));
        }
    }

    void IFrameObserver.OnFrameSent(in OutFrame frame, long sentTimestamp)
    {
        services.Metrics.BridgeLatency.RecordTicks(sentTimestamp - frame.ProviderTimestamp);
        services.Metrics.FrameToTwilio();
        if (frame.Kind != FrameKind.FirstMedia)
        {
            return;
        }
        lock (gate)
        {
            if (greeted && latency.TryRecordGreeting(startTimestamp, sentTimestamp, out var greetingTicks))
            {
                services.Metrics.GreetingLatency.RecordTicks(greetingTicks);
            }
            latency.FirstFrameSent(frame.ProviderTimestamp, sentTimestamp);
        }
    }
}
