using Microsoft.AspNetCore.Http.HttpResults;

namespace Switchboard.Platform.Http;

/// <summary>
/// The row offset of a 1-based <c>page</c> of <c>pageSize</c> rows, checked: a page whose offset does not fit a 32-bit
/// <c>OFFSET</c> (page 2147483647 of 100) is refused with 422 <c>INVALID_PAGE</c>, where <c>(page - 1) * size</c> wrapped
/// around to a small or negative number and answered page 1 again (found by an outside probe on <c>/api/v1/sms</c>).
/// </summary>
internal static class PageOffset
{
    /// <summary>The offset of <paramref name="page"/> (1 when null), or the 422 envelope when it is out of reach.</summary>
    public static (int Offset, JsonHttpResult<ErrorEnvelope>? Error) Of(int? page, int size)
    {
        var offset = ((long)(page ?? 1) - 1) * size;
        return offset is < 0 or > int.MaxValue
            ? (0, ApiError.Unprocessable("INVALID_PAGE", $"page must be between 1 and {int.MaxValue / Math.Max(1, size) + 1} at pageSize {size}."))
            : ((int)offset, null);
    }
}
