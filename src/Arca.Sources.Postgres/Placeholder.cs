namespace Arca.Sources.Postgres;
