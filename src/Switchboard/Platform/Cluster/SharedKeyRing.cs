using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Switchboard.Platform.Database;

namespace Switchboard.Platform.Cluster;

/// <summary>
/// The Data Protection key ring every node shares: keys live in the database (<c>data_protection_keys</c>, through
/// <c>Microsoft.AspNetCore.DataProtection.EntityFrameworkCore</c>), each key's secret encrypted with the installation's
/// master key (AES-256-GCM, <see cref="MasterKeyXmlEncryptor"/>), so a database dump alone reveals neither the keys nor
/// the tenants' secrets, session cookies or stream tokens they protect. A ring left in the old key folder
/// (<c>data/keys</c>, or <c>Switchboard:DataProtection:KeysPath</c>) is imported on first use.
/// </summary>
internal static class SharedKeyRing
{
    /// <summary>Configuration section: <c>MasterKey</c>, <c>PreviousMasterKeys</c>, <c>MasterKeyFile</c>, <c>KeysPath</c>.</summary>
    public const string Section = "Switchboard:DataProtection";

    /// <summary>Registers Data Protection (application name <c>switchboard</c>) over the database key ring.</summary>
    public static IServiceCollection AddSharedKeyRing(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("switchboard");
        services.AddSingleton(sp => MasterKeys.Load(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<IHostEnvironment>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(SharedKeyRing))));
        services.AddSingleton<IConfigureOptions<KeyManagementOptions>, KeyRingSetup>();
        return services;
    }

    /// <summary>
    /// A provider over key XML already read from <c>data_protection_keys</c>, for tools outside the host (the voice
    /// bench reads a tenant's Twilio auth token with it): it needs the installation's master key, and never writes keys.
    /// </summary>
    internal static IDataProtectionProvider ReadOnlyProvider(IEnumerable<string> keyXml, byte[] masterKey, string applicationName)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(MasterKeys.From(masterKey));
        services.AddDataProtection().SetApplicationName(applicationName).DisableAutomaticKeyGeneration();
        var elements = keyXml.Select(x => XElement.Parse(x)).ToList();
        services.Configure<KeyManagementOptions>(o => o.XmlRepository = new FixedXmlRepository(elements));
        return services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>();
    }

    private sealed class FixedXmlRepository(IReadOnlyList<XElement> elements) : IXmlRepository
    {
        public IReadOnlyCollection<XElement> GetAllElements() => elements.Select(e => new XElement(e)).ToList();

        public void StoreElement(XElement element, string friendlyName) => throw new InvalidOperationException("This key ring is read-only.");
    }

    private sealed class KeyRingSetup(IServiceProvider services, MasterKeys master, IConfiguration configuration, IHostEnvironment environment,
        ILoggerFactory loggers) : IConfigureOptions<KeyManagementOptions>
    {
        public void Configure(KeyManagementOptions options)
        {
            var encryptor = new MasterKeyXmlEncryptor(master);
            var legacy = configuration[$"{Section}:KeysPath"] ?? Path.Combine(environment.ContentRootPath, "data", "keys");
            options.XmlEncryptor = encryptor;
            options.XmlRepository = new ImportingXmlRepository(
                new EntityFrameworkCoreXmlRepository<SwitchboardDbContext>(services, loggers), legacy, encryptor,
                loggers.CreateLogger<ImportingXmlRepository>(),
                services.GetRequiredService<IOptions<DatabaseOptions>>().Value.IsPostgres ? new FirstKeyGate(services) : null);
        }
    }
}

/// <summary>
/// The installation's master keys (32 bytes each): the current one encrypts, all decrypt. From configuration
/// (<c>Switchboard:DataProtection:MasterKey</c>, base64; every node must have the same; older ones in
/// <c>PreviousMasterKeys</c> while rotating), else from the file <c>MasterKeyFile</c> (default <c>data/master.key</c>),
/// which is generated on first start (mode 0600) so a fresh clone runs with no configuration.
/// Each key is named by the first 8 bytes of its SHA-256, in hex.
/// </summary>
internal sealed class MasterKeys
{
    private readonly Dictionary<string, byte[]> all;

    private MasterKeys(byte[] current, IEnumerable<byte[]> previous)
    {
        CurrentId = IdOf(current);
        Current = current;
        all = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [CurrentId] = current };
        foreach (var key in previous)
        {
            all.TryAdd(IdOf(key), key);
        }
    }

    public string CurrentId { get; }
    public byte[] Current { get; }

    public byte[]? Find(string id) => all.GetValueOrDefault(id);

    internal static MasterKeys From(byte[] current, params byte[][] previous) => new(current, previous);

    internal static string IdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8));

    public static MasterKeys Load(IConfiguration configuration, IHostEnvironment environment, ILogger logger)
    {
        var section = configuration.GetSection(SharedKeyRing.Section);
        var previous = (section.GetSection("PreviousMasterKeys").Get<string[]>() ?? []).Select(k => Parse(k, "PreviousMasterKeys")).ToArray();
        if (section["MasterKey"] is { Length: > 0 } configured)
        {
            return new MasterKeys(Parse(configured, "MasterKey"), previous);
        }
        var path = section["MasterKeyFile"] is { Length: > 0 } file
            ? Path.GetFullPath(file, environment.ContentRootPath)
            : Path.Combine(environment.ContentRootPath, "data", "master.key");
        if (File.Exists(path))
        {
            return new MasterKeys(Parse(File.ReadAllText(path).Trim(), path), previous);
        }
        var key = RandomNumberGenerator.GetBytes(32);
        if (!TryPublish(path, key))
        {
            // Another process published its key first (nodes starting together on one data folder): use theirs.
            return new MasterKeys(Parse(File.ReadAllText(path).Trim(), path), previous);
        }
        var level = environment.IsDevelopment() || environment.IsEnvironment("Testing") ? LogLevel.Information : LogLevel.Warning;
        logger.Log(level, "Generated a Data Protection master key in {Path}. Every node must use the same key: set {Setting} (base64, 32 bytes) on each node, and keep it out of database backups.",
            path, SharedKeyRing.Section + ":MasterKey");
        return new MasterKeys(key, previous);
    }

    /// <summary>
    /// Puts a new key file at <paramref name="path"/> unless one is already there, so that a reader never sees it half
    /// written: the key goes to a temporary file in the same folder (mode 0600, flushed to disk), which is then moved into
    /// place without overwriting: on Linux with <c>link(2)</c>, which fails with <c>EEXIST</c> when the name exists
    /// (create-if-absent in one step; .NET's <c>File.Move</c> without overwrite checks for the name and then renames, so
    /// two nodes could each replace the other's file), elsewhere with <c>File.Move</c>. Before, the file was created and
    /// then written, and a node starting at the same moment could read it empty. Returns false when another process's
    /// file won.
    /// </summary>
    private static bool TryPublish(string path, byte[] key)
    {
        var folder = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            var create = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                create.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using (var stream = new FileStream(temporary, create))
            {
                stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key)));
                stream.Flush(flushToDisk: true);
            }
            if (OperatingSystem.IsLinux() && TryLink(temporary, path) is { } linked)
            {
                return linked;
            }
            File.Move(temporary, path, overwrite: false); // Windows: MoveFileEx without MOVEFILE_REPLACE_EXISTING, atomic
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
        finally
        {
            File.Delete(temporary); // nothing left when the move succeeded; the loser's copy otherwise
        }
    }

    private const int EEXIST = 17; // Linux errno

    /// <summary>
    /// <c>link(2)</c> of <paramref name="existing"/> to <paramref name="name"/>: true when linked, false when
    /// <paramref name="name"/> exists (<c>EEXIST</c>), null when this libc has no <c>link</c> to call (not glibc: the caller
    /// falls back to <c>File.Move</c>). Any other failure is an <see cref="IOException"/> naming the errno.
    /// </summary>
    private static bool? TryLink(string existing, string name)
    {
        try
        {
            if (Link(existing, name) == 0)
            {
                return true;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw new IOException($"Could not create {name}: link(2) failed with errno {errno}.");
    }

    /// <summary>POSIX <c>int link(const char *oldpath, const char *newpath)</c>: 0, or -1 with errno.</summary>
#pragma warning disable SYSLIB1054 // DllImport, not LibraryImport: the project stays free of unsafe code (as NativeHeapTrimmer)
    [DllImport("libc.so.6", EntryPoint = "link", ExactSpelling = true, SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
#pragma warning restore SYSLIB1054

    private static byte[] Parse(string base64, string source)
    {
        try
        {
            var key = Convert.FromBase64String(base64.Trim());
            if (key.Length == 32)
            {
                return key;
            }
        }
        catch (FormatException)
        {
        }
        throw new InvalidOperationException($"The Data Protection master key in {source} must be 32 bytes in base64 (e.g. `openssl rand -base64 32`).");
    }
}

/// <summary>
/// Encrypts a key's secret element with the current master key: AES-256-GCM, a random 96-bit nonce, the master key id
/// as associated data. Output: <c>&lt;masterKeyEncrypted masterKeyId="…"&gt;base64(nonce ‖ tag ‖ ciphertext)&lt;/masterKeyEncrypted&gt;</c>.
/// </summary>
internal sealed class MasterKeyXmlEncryptor(MasterKeys keys) : IXmlEncryptor
{
    internal const string ElementName = "masterKeyEncrypted";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var output = new byte[12 + 16 + plaintext.Length];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using (var aes = new AesGcm(keys.Current, 16))
        {
            aes.Encrypt(output.AsSpan(0, 12), plaintext, output.AsSpan(28), output.AsSpan(12, 16), Encoding.ASCII.GetBytes(keys.CurrentId));
        }
        CryptographicOperations.ZeroMemory(plaintext);
        var element = new XElement(ElementName, new XAttribute("masterKeyId", keys.CurrentId), Convert.ToBase64String(output));
        return new EncryptedXmlInfo(element, typeof(MasterKeyXmlDecryptor));
    }
}

/// <summary>
/// Decrypts what <see cref="MasterKeyXmlEncryptor"/> wrote; created by Data Protection from the type name stored in the
/// key (hence the <see cref="IServiceProvider"/> constructor). Throws <see cref="CryptographicException"/> when this node
/// lacks the master key named in the element (a node started with a different key) or the data was altered.
/// </summary>
internal sealed class MasterKeyXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var keys = services.GetRequiredService<MasterKeys>();
        var id = (string?)encryptedElement.Attribute("masterKeyId") ?? "";
        var key = keys.Find(id) ?? throw new CryptographicException(
            $"This Data Protection key was encrypted with master key {id}, which this node does not have (current: {keys.CurrentId}). " +
            $"Give every node the same {SharedKeyRing.Section}:MasterKey (and the old one in PreviousMasterKeys while rotating).");
        var data = Convert.FromBase64String(encryptedElement.Value);
        if (data.Length < 28)
        {
            throw new CryptographicException("The encrypted Data Protection key is truncated.");
        }
        var plaintext = new byte[data.Length - 28];
        using (var aes = new AesGcm(key, 16))
        {
            aes.Decrypt(data.AsSpan(0, 12), data.AsSpan(28), data.AsSpan(12, 16), plaintext, Encoding.ASCII.GetBytes(id));
        }
        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}

/// <summary>
/// The database repository, plus a one-time import: on the first read, each <c>key-*.xml</c> of the old key folder
/// whose key id is not in the database yet is stored there, its secret encrypted with the master key on the way
/// (Data Protection marks secret elements <c>requiresEncryption</c>). Idempotent (keys are matched by their
/// <c>key-{id}</c> friendly name), so every node may try; the old folder is left in place for the operator to delete.
/// </summary>
internal sealed class ImportingXmlRepository(
    IXmlRepository inner, string legacyFolder, IXmlEncryptor encryptor, ILogger<ImportingXmlRepository> logger, FirstKeyGate? firstKey = null)
    : IXmlRepository
{
    private const string DataProtectionNamespace = "http://schemas.asp.net/2015/03/dataProtection";
    private static readonly XName RequiresEncryption = XName.Get("requiresEncryption", DataProtectionNamespace);
    private static readonly XName EncryptedSecret = XName.Get("encryptedSecret", DataProtectionNamespace); // as Data Protection writes it
    private readonly Lock gate = new();
    private bool imported;

    public IReadOnlyCollection<XElement> GetAllElements()
    {
        lock (gate)
        {
            if (!imported)
            {
                imported = true; // first, so the key manager's re-entrant reads below go straight to the database
                Import();
                firstKey?.EnsureOneKey(inner);
            }
        }
        return inner.GetAllElements();
    }

    public void StoreElement(XElement element, string friendlyName) => inner.StoreElement(element, friendlyName);

    private void Import()
    {
        if (!Directory.Exists(legacyFolder))
        {
            return;
        }
        var files = Directory.GetFiles(legacyFolder, "key-*.xml");
        if (files.Length == 0)
        {
            return;
        }
        var known = inner.GetAllElements().Select(e => (string?)e.Attribute("id")).Where(id => id is not null).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var count = 0;
        foreach (var file in files)
        {
            XElement key;
            try
            {
                key = XElement.Load(file);
            }
            catch (System.Xml.XmlException e)
            {
                logger.LogWarning("Skipped {File} while importing the Data Protection key ring: {Error}", Path.GetFileName(file), e.Message);
                continue;
            }
            var id = (string?)key.Attribute("id");
            if (key.Name.LocalName != "key" || id is null || known.Contains(id))
            {
                continue;
            }
            foreach (var secret in key.Descendants().Where(e => (bool?)e.Attribute(RequiresEncryption) == true).ToList())
            {
                var info = encryptor.Encrypt(new XElement(secret));
                secret.ReplaceWith(new XElement(EncryptedSecret,
                    new XAttribute("decryptorType", info.DecryptorType.AssemblyQualifiedName!), info.EncryptedElement));
            }
            inner.StoreElement(key, "key-" + id);
            count++;
        }
        if (count > 0)
        {
            logger.LogWarning("Imported {Count} Data Protection key(s) from {Folder} into the database, encrypted with the master key. " +
                "The files there are not encrypted: delete the folder once every node runs this version.", count, legacyFolder);
        }
    }
}

/// <summary>
/// Makes the creation of the first key race-free across nodes (PostgreSQL). Left alone, Data Protection creates a key on
/// each node that finds the ring empty, so two nodes starting together on a new database each make one and protect with
/// different keys. Instead, on the first read of the ring, a node takes a PostgreSQL advisory lock, reads the ring
/// again, creates the key through the host's <see cref="IKeyManager"/> only if there is still none, and releases the
/// lock: the second node waits, then finds the first node's key and uses it. Later keys (the rolling 90-day rotation)
/// are created ahead of their activation, so both nodes see them before use.
/// </summary>
internal sealed class FirstKeyGate(IServiceProvider services)
{
    /// <summary>Advisory lock key for the first Data Protection key ("SWKEYS"); the migrator uses another.</summary>
    internal const long AdvisoryLockKey = 0x5357_4B45_5953;

    public void EnsureOneKey(IXmlRepository ring)
    {
        if (HasKey(ring))
        {
            return;
        }
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<SwitchboardDbContext>();
        db.Database.OpenConnection();
        try
        {
            using (var command = db.Database.GetDbConnection().CreateCommand())
            {
                command.CommandText = $"SELECT pg_advisory_lock({AdvisoryLockKey})";
                command.ExecuteNonQuery();
            }
            try
            {
                if (!HasKey(ring))
                {
                    var now = services.GetRequiredService<TimeProvider>().GetUtcNow();
                    var lifetime = services.GetRequiredService<IOptions<KeyManagementOptions>>().Value.NewKeyLifetime;
                    services.GetRequiredService<IKeyManager>().CreateNewKey(now, now + lifetime);
                }
            }
            finally
            {
                using var unlock = db.Database.GetDbConnection().CreateCommand();
                unlock.CommandText = $"SELECT pg_advisory_unlock({AdvisoryLockKey})";
                unlock.ExecuteNonQuery();
            }
        }
        finally
        {
            db.Database.CloseConnection();
        }
    }

    private static bool HasKey(IXmlRepository ring) => ring.GetAllElements().Any(e => e.Name.LocalName == "key");
}
