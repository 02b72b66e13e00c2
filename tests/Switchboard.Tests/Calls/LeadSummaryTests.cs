using Switchboard.Calls;

namespace Switchboard.Tests.Calls;

public sealed class LeadSummaryTests
{
    private static Lead Lead(string urgency, string? name, string? address, string? problem) => new()
    {
        Id = Guid.NewGuid(), TenantId = Guid.NewGuid(), CallId = Guid.NewGuid(), Urgency = urgency, Source = "tool",
        Name = name, Address = address, Problem = problem,
    };

    [Theory]
    [InlineData("en-US", "emergency", "Emergency — Basement flooding. Marc Tremblay, 12 rue Principale, Laval.")]
    [InlineData("fr-CA", "emergency", "Urgence — Basement flooding. Marc Tremblay, 12 rue Principale, Laval.")]
    [InlineData("fr", "soon", "Rapidement — Basement flooding. Marc Tremblay, 12 rue Principale, Laval.")]
    [InlineData(null, "routine", "Routine — Basement flooding. Marc Tremblay, 12 rue Principale, Laval.")]
    public void SummaryNamesUrgencyProblemAndCallerInTheConversationsLanguage(string? language, string urgency, string expected) =>
        Assert.Equal(expected, LeadSummary.Write(Lead(urgency, "Marc Tremblay", "12 rue Principale, Laval", "Basement flooding."), language));

    [Fact]
    public void MissingFieldsAreLeftOutNotPrintedAsBlanks()
    {
        Assert.Equal("Courant — Demande sans détail.", LeadSummary.Write(Lead("routine", null, " ", null), "fr-CA"));
        Assert.Equal("Soon — Leaking tap. Ann.", LeadSummary.Write(Lead("soon", "Ann", null, " Leaking tap "), "en"));
        Assert.Equal("Routine — How much is a weekend visit? Ann.", LeadSummary.Write(Lead("routine", "Ann", null, "How much is a weekend visit?"), "en"));
        Assert.Equal("Emergency — Help!", LeadSummary.Write(Lead("emergency", null, null, "Help!"), "en"));
    }
}
