using Microsoft.EntityFrameworkCore;
using Switchboard.Knowledge;

namespace Switchboard.Platform.Database;

/// <summary>The knowledge base part of the model (migration 0011).</summary>
internal sealed partial class SwitchboardDbContext
{
    /// <summary>PostgreSQL only: the generated <c>tsvector</c> over <see cref="KnowledgeChunk.SearchText"/> (GIN-indexed).</summary>
    internal const string SearchVectorColumn = "SearchVector";

    public DbSet<KnowledgeDocument> KnowledgeDocuments => Set<KnowledgeDocument>();
    public DbSet<KnowledgeChunk> KnowledgeChunks => Set<KnowledgeChunk>();

    private void ConfigureKnowledge(ModelBuilder b)
    {
        b.Entity<KnowledgeDocument>(e =>
        {
            e.ToTable("knowledge_documents");
            // Chunks reference (TenantId, Id): a chunk cannot point at another tenant's document.
            e.HasAlternateKey(x => new { x.TenantId, x.Id });
            e.HasIndex(x => new { x.TenantId, x.CreatedAt });
            e.HasIndex(x => new { x.TenantId, x.Sha256 });
            e.Property(x => x.Title).HasMaxLength(300);
            e.Property(x => x.SourceType).HasMaxLength(16);
            e.Property(x => x.SourceUrl).HasMaxLength(2048);
            e.Property(x => x.FileName).HasMaxLength(300);
            e.Property(x => x.Language).HasMaxLength(8);
            e.Property(x => x.Sha256).HasMaxLength(64);
            e.Property(x => x.ETag).HasMaxLength(200);
            e.Property(x => x.LastModified).HasMaxLength(100);
            TenantOwned(e);
        });

        b.Entity<KnowledgeChunk>(e =>
        {
            e.ToTable("knowledge_chunks");
            e.HasIndex(x => new { x.TenantId, x.DocumentId, x.Ordinal }).IsUnique();
            e.Property(x => x.Heading).HasMaxLength(500);
            e.Property(x => x.Language).HasMaxLength(8);
            e.Property(x => x.EmbeddingModel).HasMaxLength(100);
            e.HasOne<KnowledgeDocument>().WithMany().HasForeignKey(x => new { x.TenantId, x.DocumentId })
                .HasPrincipalKey(d => new { d.TenantId, d.Id }).OnDelete(DeleteBehavior.Cascade);
            TenantOwned(e);
            if (Database.IsNpgsql())
            {
                // Terms are pre-folded in C# (TextFolding), so the 'simple' configuration only splits on spaces: the same terms as SQLite's FTS5.
                e.Property<NpgsqlTypes.NpgsqlTsVector>(SearchVectorColumn)
                    .HasComputedColumnSql("to_tsvector('simple'::regconfig, \"SearchText\")", stored: true);
                e.HasIndex(SearchVectorColumn).HasMethod("gin");
            }
        });
    }
}
