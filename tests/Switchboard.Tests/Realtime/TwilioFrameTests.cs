using System.Text;
using System.Text.Json;
using Switchboard.Realtime.Bridge;

namespace Switchboard.Tests.Realtime;

/// <summary>
/// Media Streams messages as Twilio may send them out of the usual shape (twilio-media-streams.md §3–§7): the frame reader
/// classifies each or refuses it with <see cref="JsonException"/> alone (counted as a bad frame by the bridge), never
/// another exception that would end the stream's receive loop.
/// </summary>
public sealed class TwilioFrameTests
{
    private static (TwilioEvent Event, string Payload, string Mark, string Digit) Read(string json)
    {
        var frame = Wire.ReadTwilio(Encoding.UTF8.GetBytes(json));
        return (frame.Event, Encoding.UTF8.GetString(frame.Payload), Encoding.UTF8.GetString(frame.MarkName), Encoding.UTF8.GetString(frame.Digit));
    }

    [Theory]
    [InlineData("""{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"2","timestamp":"5","payload":"//8A"},"streamSid":"MZ1"}""", "Media", "//8A", "", "")]
    [InlineData("""{"streamSid":"MZ1","media":{"payload":"//8A"},"event":"media"}""", "Media", "//8A", "", "")] // event last
    [InlineData("""{"event":"media","media":{"payload":"\/\/8A"}}""", "Media", "//8A", "", "")] // escaped solidus
    [InlineData("""{"event":"media","media":{"payload":12}}""", "Media", "", "", "")] // not a string: no audio
    [InlineData("""{"event":"media","media":"//8A"}""", "Media", "", "", "")]
    [InlineData("""{"event":"mark","streamSid":"MZ1","mark":{"name":"r1:0"}}""", "Mark", "", "r1:0", "")]
    [InlineData("""{"event":"dtmf","streamSid":"MZ1","dtmf":{"track":"inbound_track","digit":"#"}}""", "Dtmf", "", "", "#")]
    [InlineData("""{"event":"clear","streamSid":"MZ1"}""", "Clear", "", "", "")]
    [InlineData("""{"event":"connected","protocol":"Call","version":"1.0.0"}""", "Connected", "", "", "")]
    [InlineData("""{"event":"transcription","transcription":{"text":"bonjour","nested":[1,{"a":[]}]}}""", "Unknown", "", "", "")] // a newer event
    [InlineData("""{"event":42}""", "Unknown", "", "", "")]
    [InlineData("""{"event":{"name":"media"},"media":{"payload":"//8A"}}""", "Unknown", "", "", "")]
    [InlineData("""{}""", "Unknown", "", "", "")]
    public void AFrameIsClassifiedWhateverItsShape(string json, string expected, string payload, string mark, string digit) =>
        Assert.Equal((Enum.Parse<TwilioEvent>(expected), payload, mark, digit), Read(json));

    [Theory]
    [InlineData("""{"event":"media","media":{"payload":"//8A""")] // cut short
    [InlineData("""["media"]""")]
    [InlineData("media")]
    [InlineData("")]
    [InlineData("""{"event":"stop",}""")]
    [InlineData("""{"event":"media","media":{"payload":"//8\"A"}}""")] // an escaped quote: would end the provider frame's string
    [InlineData("""{"event":"media","media":{"payload":"//8A\n"}}""")] // a control character, which Base64.IsValid alone skips
    [InlineData("""{"event":"media","media":{"payload":"//8A //8A"}}""")] // white space
    [InlineData("""{"event":"media","media":{"payload":"not base64!"}}""")]
    [InlineData("""{"event":"media","media":{"payload":"//8"}}""")] // not whole quanta
    public void AMalformedFrameIsAJsonError(string json) =>
        Assert.ThrowsAny<JsonException>(() => Read(json)); // JsonReaderException derives from it: the bridge catches JsonException
}
