namespace Arca.Cli;
