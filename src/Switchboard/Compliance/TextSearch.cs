using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;

namespace Switchboard.Compliance;

/// <summary>
/// Predicates that find any of several strings inside text columns, translated to SQL (<c>LIKE '%…%'</c> joined by
/// <c>OR</c>), for erasure: a caller's number is searched in every form it takes in free text.
/// </summary>
internal static class TextSearch
{
    /// <summary>
    /// The <c>LIKE</c> patterns for <paramref name="needles"/>: a needle that contains another is dropped (the shorter
    /// one's pattern already matches it); <c>%</c>, <c>_</c> and <c>\</c> are escaped.
    /// </summary>
    public static IReadOnlyList<string> Patterns(IEnumerable<string> needles)
    {
        var distinct = needles.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        return distinct.Where(n => !distinct.Any(o => o.Length < n.Length && n.Contains(o, StringComparison.Ordinal)))
            .Select(n => "%" + n.Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%").ToList();
    }

    /// <summary><c>field LIKE p1 ESCAPE '\' OR field LIKE p2 …</c> (false when there is no pattern).</summary>
    public static Expression<Func<T, bool>> Mentions<T>(Expression<Func<T, string?>> field, IReadOnlyList<string> patterns)
    {
        var like = typeof(DbFunctionsExtensions).GetMethod(nameof(DbFunctionsExtensions.Like),
            [typeof(DbFunctions), typeof(string), typeof(string), typeof(string)])!;
        Expression body = Expression.Constant(false);
        foreach (var pattern in patterns)
        {
            var call = Expression.Call(like, Expression.Constant(EF.Functions), field.Body, Expression.Constant(pattern), Expression.Constant("\\"));
            body = body is ConstantExpression ? call : Expression.OrElse(body, call);
        }
        return Expression.Lambda<Func<T, bool>>(body, field.Parameters);
    }

    /// <summary>Any of <paramref name="predicates"/> (one parameter shared).</summary>
    public static Expression<Func<T, bool>> Or<T>(params Expression<Func<T, bool>>[] predicates)
    {
        var parameter = predicates[0].Parameters[0];
        var body = predicates[0].Body;
        foreach (var next in predicates.Skip(1))
        {
            body = Expression.OrElse(body, new Rebind(next.Parameters[0], parameter).Visit(next.Body));
        }
        return Expression.Lambda<Func<T, bool>>(body, parameter);
    }

    private sealed class Rebind(ParameterExpression from, ParameterExpression to) : ExpressionVisitor
    {
        protected override Expression VisitParameter(ParameterExpression node) => node == from ? to : base.VisitParameter(node);
    }
}
