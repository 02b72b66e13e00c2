-- 0011_knowledge (SQLite): the per-tenant knowledge base (issue 14 §3; shared/protocols/brain-and-knowledge-base.md §4).
-- Documents and their chunks; chunks reference (TenantId, DocumentId) so a chunk cannot point at another tenant's
-- document, and go with their document or tenant (ON DELETE CASCADE). knowledge_fts is an FTS5 external-content
-- index over knowledge_chunks."SearchText" (terms pre-folded in C#, prefixed by the tenant's own term), kept in sync
-- by triggers, which SQLite also fires for cascaded deletes. Tables written by hand from `switchboard schema-script`.

CREATE TABLE "knowledge_documents" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_knowledge_documents" PRIMARY KEY,
    "TenantId" TEXT NOT NULL,
    "Title" TEXT NOT NULL,
    "SourceType" TEXT NOT NULL,
    "SourceUrl" TEXT NULL,
    "FileName" TEXT NULL,
    "Language" TEXT NULL,
    "ContentText" TEXT NOT NULL,
    "Sha256" TEXT NOT NULL,
    "Characters" INTEGER NOT NULL,
    "ChunkCount" INTEGER NOT NULL,
    "EmbeddedChunks" INTEGER NOT NULL,
    "ETag" TEXT NULL,
    "LastModified" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    "UpdatedAt" INTEGER NOT NULL,
    "IndexedAt" INTEGER NOT NULL,
    CONSTRAINT "AK_knowledge_documents_TenantId_Id" UNIQUE ("TenantId", "Id"),
    CONSTRAINT "FK_knowledge_documents_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE TABLE "knowledge_chunks" (
    "Id" INTEGER NOT NULL CONSTRAINT "PK_knowledge_chunks" PRIMARY KEY AUTOINCREMENT,
    "TenantId" TEXT NOT NULL,
    "DocumentId" TEXT NOT NULL,
    "Ordinal" INTEGER NOT NULL,
    "Heading" TEXT NULL,
    "Text" TEXT NOT NULL,
    "SearchText" TEXT NOT NULL,
    "Language" TEXT NULL,
    "Embedding" BLOB NULL,
    "EmbeddingModel" TEXT NULL,
    "CreatedAt" INTEGER NOT NULL,
    CONSTRAINT "FK_knowledge_chunks_knowledge_documents_TenantId_DocumentId" FOREIGN KEY ("TenantId", "DocumentId") REFERENCES "knowledge_documents" ("TenantId", "Id") ON DELETE CASCADE,
    CONSTRAINT "FK_knowledge_chunks_tenants_TenantId" FOREIGN KEY ("TenantId") REFERENCES "tenants" ("Id") ON DELETE CASCADE
);

CREATE UNIQUE INDEX "IX_knowledge_chunks_TenantId_DocumentId_Ordinal" ON "knowledge_chunks" ("TenantId", "DocumentId", "Ordinal");
CREATE INDEX "IX_knowledge_documents_TenantId_CreatedAt" ON "knowledge_documents" ("TenantId", "CreatedAt");
CREATE INDEX "IX_knowledge_documents_TenantId_Sha256" ON "knowledge_documents" ("TenantId", "Sha256");

CREATE VIRTUAL TABLE knowledge_fts USING fts5(
    "SearchText", content='knowledge_chunks', content_rowid='Id', tokenize='unicode61 remove_diacritics 2');

CREATE TRIGGER knowledge_chunks_ai AFTER INSERT ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts(rowid, "SearchText") VALUES (new."Id", new."SearchText");
END;

CREATE TRIGGER knowledge_chunks_ad AFTER DELETE ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts(knowledge_fts, rowid, "SearchText") VALUES ('delete', old."Id", old."SearchText");
END;

CREATE TRIGGER knowledge_chunks_au AFTER UPDATE OF "SearchText" ON knowledge_chunks BEGIN
    INSERT INTO knowledge_fts(knowledge_fts, rowid, "SearchText") VALUES ('delete', old."Id", old."SearchText");
    INSERT INTO knowledge_fts(rowid, "SearchText") VALUES (new."Id", new."SearchText");
END;
