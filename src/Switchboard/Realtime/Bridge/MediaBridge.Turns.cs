using System.Buffers;
using System.Diagnostics;
using Switchboard.Calls;
using Switchboard.Platform.Http;
using Switchboard.Twilio;

namespace Switchboard.Realtime.Bridge;

/// <summary>Responses, tools, the call's timers and its transcript: what the bridge decides, not what it forwards.</summary>
internal sealed partial class MediaBridge
{
    private void TryGreet()
    {
        lock (gate)
        {
            if (!started || !ready || greeted || ending)
            {
                return;
            }
            greeted = true;
            RequestResponse(ResponseKind.Greeting);
        }
    }

    /// <summary>Asks the model to speak, or queues the request until the current response is done (under <see cref="gate"/> or not).</summary>
    private void RequestResponse(ResponseKind kind, string? reason = null)
    {
        lock (gate)
        {
            if (kind == ResponseKind.Filler && toolsRunning == 0)
            {
                return; // the tool has answered meanwhile: no filler
            }
            if (responses.TryRequest(kind, reason, ready, Stopwatch.GetTimestamp()))
            {
                SendToProvider(RealtimeProtocol.ResponseCreate(kind, setup, reason));
            }
        }
    }

    private void SendToProvider(OutFrame frame)
    {
        var session = provider;
        if (session is null)
        {
            ArrayPool<byte>.Shared.Return(frame.Buffer);
            return;
        }
        session.Out.TryEnqueue(frame); // a full or completed queue returns the buffer itself
    }

    private void StartTool(string name, string callId, string arguments)
    {
        lock (gate)
        {
            toolsRunning++;
            conversation.Add(new HistoryItem("function_call", arguments, name, callId));
            AddTurn("tool_call", $"{name}({arguments})", null, null);
            if (name == Brain.ToolRegistry.CaptureLead)
            {
                captured = ToolRunner.MergeCapturedLead(captured, arguments, setup.UrgencyRules ?? Tenancy.UrgencyRules.Generic);
            }
        }
        Track(RunToolAsync(name, callId, arguments));
    }

    private async Task RunToolAsync(string name, string callId, string arguments)
    {
        try
        {
            var output = await tools.RunAsync(name, arguments, () => RequestResponse(ResponseKind.Filler), lifetime.Token);
            lock (gate)
            {
                conversation.Add(new HistoryItem("function_call_output", output, name, callId));
                AddTurn("tool_result", output, null, null);
                SendToProvider(RealtimeProtocol.FunctionOutput(callId, output));
                if (name == Brain.ToolRegistry.EndCall)
                {
                    RequestHangup("assistant-hangup");
                    RequestResponse(ResponseKind.Goodbye);
                }
                else
                {
                    RequestResponse(ResponseKind.AfterTool);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.IsCancellationRequested)
        {
        }
        finally
        {
            lock (gate)
            {
                toolsRunning--;
                policy.Activity(services.Clock.GetUtcNow());
            }
        }
    }

    /// <summary>Timers, driven by <see cref="BridgeTicker"/> every 100 ms.</summary>
    public void OnTick()
    {
        var now = services.Clock.GetUtcNow();
        if (!ending && Stopwatch.GetElapsedTime(Volatile.Read(ref lastFrameTimestamp)) >= TimeSpan.FromSeconds(voice.ReceiveIdleSeconds))
        {
            // A dead or stalled socket (e.g. a frame header, a few bytes, then nothing): end the call; the shutdown closes
            // the provider session and runs the post-call work.
            logger.LogWarning("No complete frame from Twilio in {Seconds} s: ending the call", voice.ReceiveIdleSeconds);
            Ending("stream-timeout");
            lifetime.Cancel(); // outside the lock: cancellation runs the receive loop's continuations
            return;
        }
        lock (gate)
        {
            if (ending)
            {
                return;
            }
            var ticks = Stopwatch.GetTimestamp();
            if (marks.DropIfStalled(ticks, TimeSpan.FromSeconds(voice.MarkEchoTimeoutSeconds)))
            {
                logger.LogDebug("Marks not echoed in {Seconds} s: dropped", voice.MarkEchoTimeoutSeconds);
            }
            if (!started)
            {
                if (now - acceptedAt > TimeSpan.FromSeconds(10))
                {
                    logger.LogWarning("No stream start within 10 s of the connection: closing");
                    endedReason ??= "stream-error";
                    CloseTwilio();
                }
                return;
            }
            if (policy.TakeDigitsIfDue(now) is { } digits)
            {
                SendDigits(digits);
            }
            responses.ExpireRequest(ticks); // the provider never answered that request: do not wait forever
            if (policy.MaxDurationReached(now, startedAt))
            {
                logger.LogInformation("Call reached its maximum length of {Seconds} s", setup.MaxCallSeconds);
                RequestHangup("max-duration");
                RequestResponse(ResponseKind.Goodbye, "max-duration");
            }
            if (policy.HangupRequested)
            {
                if (policy.HangupOverdue(now))
                {
                    CloseTwilio();
                }
                else
                {
                    CheckHangup();
                }
                return;
            }
            var quiet = !callerSpeaking && !responses.Active && !responses.Requested && marks.Outstanding == 0 && toolsRunning == 0 && greeted && ready;
            switch (policy.Idle(now, quiet))
            {
                case IdleAction.Goodbye:
                    RequestHangup("idle-timeout");
                    RequestResponse(ResponseKind.Goodbye, "idle-timeout");
                    break;
                case IdleAction.Reprompt:
                    RequestResponse(ResponseKind.Reprompt);
                    break;
            }
        }
    }

    private void RequestHangup(string reason)
    {
        if (policy.RequestHangup(services.Clock.GetUtcNow()))
        {
            endedReason ??= reason;
        }
    }

    /// <summary>Hangs up once the goodbye has been said and heard (under <see cref="gate"/>).</summary>
    private void CheckHangup()
    {
        if (policy.HangupRequested && !responses.Active && !responses.Requested && !responses.HasPending && marks.Outstanding == 0 && toolsRunning == 0)
        {
            CloseTwilio();
        }
    }

    /// <summary>The provider cannot be reached: log, alert, record the reason, then end the stream so Twilio plays the fallback
    /// (a browser leg is told, in its language, to write in the chat instead: <see cref="Widget.WebVoiceFallback"/>).</summary>
    private async Task FailOverAsync(string what)
    {
        if (ending)
        {
            return;
        }
        services.Metrics.ProviderFailed();
        logger.LogError("Realtime provider {Url} {What}: the caller is asked to leave a message", setup.ProviderUri.GetLeftPart(UriPartial.Path), what);
        lock (gate)
        {
            endedReason = NativeCallStatus.ProviderUnreachable;
        }
        try
        {
            await services.Store.MarkProviderUnreachableAsync(setup, lifetime.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogError(e, "Could not record the provider failure");
        }
        lock (gate)
        {
            if (leg.SendsTranscripts)
            {
                // A web visitor cannot leave a message after the tone: they are asked to write in the chat instead.
                AddTurn("assistant", Widget.WebVoiceFallback.For(setup.Language), null, null);
            }
            CloseTwilio();
        }
    }

    // ───────────────────────────── Transcript ─────────────────────────────

    /// <summary>Stores an assistant turn, with this item's latencies when it answered the caller (under <see cref="gate"/>).</summary>
    private void AddAssistantTurn(string text, string? item)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return;
        }
        var (providerMs, bridgeMs) = latency.Take(item);
        conversation.Add(new HistoryItem("assistant", text.Trim()));
        AddTurn("assistant", text.Trim(), providerMs, bridgeMs);
    }

    /// <summary>An interrupted or unfinished assistant item keeps the words that were generated, marked with an ellipsis.</summary>
    private void StoreInterruptedText()
    {
        if (conversation.TakeUnfinished(out var text, out var item))
        {
            AddAssistantTurn(text, item);
        }
    }

    private void AddTurn(string role, string text, double? providerMs, double? bridgeMs)
    {
        var now = services.Clock.GetUtcNow();
        if (leg.SendsTranscripts && role is "user" or "assistant" && !ending)
        {
            twilioOut.TryEnqueue(Wire.Json((role, text), static (w, t) =>
            {
                w.WriteStartObject();
                w.WriteString("event", "transcript");
                w.WriteString("role", t.role);
                w.WriteString("text", t.text);
                w.WriteEndObject();
            }));
        }
        services.Transcripts.Add(new TranscriptTurn
        {
            Id = Guid.CreateVersion7(),
            TenantId = setup.TenantId,
            CallId = setup.CallId,
            Seq = turnSeq++,
            Role = role,
            Text = TolerantJson.Cap(text, 8000),
            SecondsFromStart = started ? Math.Round((now - startedAt).TotalSeconds, 3) : 0,
            At = now,
            ProviderLatencyMs = providerMs is { } p ? Math.Round(p, 2) : null,
            BridgeLatencyMs = bridgeMs is { } b ? Math.Round(b, 3) : null,
        });
    }
}
