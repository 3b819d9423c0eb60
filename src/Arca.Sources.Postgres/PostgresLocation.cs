using System.Text;
using Npgsql;

namespace Arca.Sources.Postgres;

/// <summary>
/// A database named by a libpq-style URL, <c>postgresql://[USER[:PASSWORD]@]HOST[:PORT]/DB[?sslmode=...]</c>
/// (also <c>postgres://</c>). A password not in the URL comes from PGPASSWORD or ~/.pgpass, as with psql.
/// </summary>
public sealed record PostgresLocation
{
    public required string Host { get; init; }
    public int Port { get; init; } = 5432;
    public required string User { get; init; }
    public string? Password { get; init; }
    public required string Database { get; init; }
    public string? SslMode { get; init; }

    public static bool IsPostgresUrl(string text) =>
        text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The URL without its password: what snapshots record and messages show.</summary>
    public string Display => $"postgresql://{Escape(User)}@{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}/{Escape(Database)}";

    public override string ToString() => Display;

    public static PostgresLocation Parse(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0 || !IsPostgresUrl(url))
        {
            throw Bad(url, "it does not start with postgresql://");
        }
        var rest = url[(schemeEnd + 3)..];
        string? query = null;
        var q = rest.IndexOf('?');
        if (q >= 0)
        {
            query = rest[(q + 1)..];
            rest = rest[..q];
        }
        var slash = rest.IndexOf('/');
        var authority = slash >= 0 ? rest[..slash] : rest;
        var database = slash >= 0 ? Unescape(rest[(slash + 1)..]) : "";
        string? user = null, password = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            var userInfo = authority[..at];
            authority = authority[(at + 1)..];
            var colon = userInfo.IndexOf(':');
            user = Unescape(colon >= 0 ? userInfo[..colon] : userInfo);
            password = colon >= 0 ? Unescape(userInfo[(colon + 1)..]) : null;
        }
        string host;
        var port = 5432;
        string? portText = null;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                throw Bad(url, "an IPv6 host is missing its closing ']'");
            }
            host = authority[1..close];
            if (close + 1 < authority.Length)
            {
                if (authority[close + 1] != ':')
                {
                    throw Bad(url, "something follows the IPv6 host that is not a port");
                }
                portText = authority[(close + 2)..];
            }
        }
        else
        {
            var colon = authority.LastIndexOf(':');
            host = colon >= 0 ? authority[..colon] : authority;
            portText = colon >= 0 ? authority[(colon + 1)..] : null;
        }
        if (portText is not null && (!int.TryParse(portText, out port) || port is < 1 or > 65535))
        {
            throw Bad(url, $"the port '{portText}' is not a number from 1 to 65535");
        }
        string? sslMode = null;
        foreach (var pair in (query ?? "").Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = eq >= 0 ? pair[..eq] : pair;
            var value = eq >= 0 ? Unescape(pair[(eq + 1)..]) : "";
            switch (key)
            {
                case "sslmode":
                    sslMode = value;
                    break;
                case "host":
                    host = value;
                    break;
                case "port" when int.TryParse(value, out var p):
                    port = p;
                    break;
                case "user":
                    user = value;
                    break;
                case "password":
                    password = value;
                    break;
                case "dbname":
                    database = value;
                    break;
                default:
                    throw Bad(url, $"the parameter '{key}' is not one Arca knows (sslmode, host, port, user, password, dbname)");
            }
        }
        user = string.IsNullOrEmpty(user) ? Environment.GetEnvironmentVariable("PGUSER") ?? Environment.UserName : user;
        if (string.IsNullOrEmpty(host))
        {
            host = Environment.GetEnvironmentVariable("PGHOST") ?? "localhost";
        }
        if (string.IsNullOrEmpty(database))
        {
            throw Bad(url, "it names no database");
        }
        return new PostgresLocation { Host = host, Port = port, User = user, Password = password, Database = database, SslMode = sslMode };
    }

    /// <summary>The same server, another database (a restore's target, a scratch database).</summary>
    public PostgresLocation WithDatabase(string database) => this with { Database = database };

    public NpgsqlConnectionStringBuilder ConnectionString(string applicationName = "arca")
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = User,
            Database = Database,
            ApplicationName = applicationName,
            // One connection per reader, opened for the whole backup: pooling only delays their closing.
            Pooling = false,
            Timeout = 15,
            CommandTimeout = 0,
            // Larger socket buffers let the server run ahead of a reader busy compressing.
            ReadBufferSize = 1 << 20,
            WriteBufferSize = 1 << 20,
        };
        if (Password is not null)
        {
            builder.Password = Password;
        }
        if (SslMode is not null)
        {
            builder.SslMode = Enum.TryParse<SslMode>(SslMode.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var mode)
                ? mode
                : throw new ArcaException(ErrorCode.Usage, $"The sslmode '{SslMode}' is not one PostgreSQL knows.",
                    "Use disable, allow, prefer, require, verify-ca or verify-full.");
        }
        return builder;
    }

    /// <summary>The environment pg_dump and psql need to reach the same database as this location.</summary>
    public IReadOnlyDictionary<string, string> ToolEnvironment()
    {
        var env = new Dictionary<string, string>
        {
            ["PGHOST"] = Host,
            ["PGPORT"] = Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["PGUSER"] = User,
            ["PGDATABASE"] = Database,
            ["PGAPPNAME"] = "arca",
            ["PGCONNECT_TIMEOUT"] = "15",
        };
        if (Password is not null)
        {
            env["PGPASSWORD"] = Password;
        }
        if (SslMode is not null)
        {
            env["PGSSLMODE"] = SslMode;
        }
        return env;
    }

    private static ArcaException Bad(string url, string why) =>
        new(ErrorCode.Usage, $"The database URL '{Redact(url)}' is not usable: {why}.",
            "Write it as postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE.");

    /// <summary>The URL with any password replaced, for messages.</summary>
    public static string Redact(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var at = url.LastIndexOf('@');
        if (schemeEnd < 0 || at < schemeEnd)
        {
            return url;
        }
        var colon = url.IndexOf(':', schemeEnd + 3);
        return colon >= 0 && colon < at ? url[..(colon + 1)] + "***" + url[at..] : url;
    }

    private static string Unescape(string text) => Uri.UnescapeDataString(text);

    private static string Escape(string text)
    {
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            sb.Append(c is '@' or ':' or '/' or '?' or '%' or '#' ? Uri.EscapeDataString(c.ToString()) : c.ToString());
        }
        return sb.ToString();
    }
}
