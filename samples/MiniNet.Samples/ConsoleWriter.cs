// Routes plain text (System.CommandLine's help, the samples' logs) through a Spectre console, a
// line at a time, so that tests can capture everything a command prints.
using System.Globalization;
using System.Text;
using Spectre.Console;

namespace MiniNet.Samples;

sealed class ConsoleWriter(IAnsiConsole console) : TextWriter
{
    readonly StringBuilder _line = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override IFormatProvider FormatProvider => CultureInfo.InvariantCulture;

    public override void Write(char value)
    {
        if (value == '\n') EmitLine();
        else _line.Append(value);
    }

    public override void Flush()
    {
        if (_line.Length > 0) EmitLine();
    }

    // Emits the pending text as one line (Spectre's WriteLine: never parsed as markup).
    void EmitLine()
    {
        console.WriteLine(_line.ToString().TrimEnd('\r'));
        _line.Clear();
    }

    protected override void Dispose(bool disposing)
    {
        if (_line.Length > 0) Flush();
        base.Dispose(disposing);
    }
}
