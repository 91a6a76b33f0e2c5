using System.Text;

namespace Fos.Cli.Node;

/// <summary>
/// Command lines read as sh reads them. Outside quotes, blanks split words, ';' and newlines end
/// commands, and a backslash takes the next character as it is (<c>a\ b</c> is one word). Inside
/// '…' every character is itself. Inside "…" a backslash escapes only <c>" \ $ `</c> and a
/// newline, and stays a backslash before anything else. An unterminated quote is an error.
/// </summary>
internal sealed partial class Shell
{
    private enum Lexeme
    {
        Literal,      // characters of a word
        Quote,        // an opening or closing quote: a word is there, even an empty one
        Blank,        // unquoted white space
        End,          // an unquoted ';' or newline
        Unterminated, // the text ended inside a quote (the quote character is the text)
    }

    private static IEnumerable<(Lexeme Kind, string Text, int At)> Scan(string script)
    {
        char? quote = null;
        for (var i = 0; i < script.Length; i++)
        {
            var c = script[i];
            if (quote == '\'')
            {
                if (c == '\'') quote = null;
                yield return c == '\'' ? (Lexeme.Quote, "", i) : (Lexeme.Literal, c.ToString(), i);
            }
            else if (c == '\\' && i + 1 < script.Length)
            {
                var next = script[++i];
                if (next == '\n') continue; // a line continued
                if (quote == '"' && next is not ('"' or '\\' or '$' or '`')) yield return (Lexeme.Literal, "\\" + next, i);
                else yield return (Lexeme.Literal, next.ToString(), i);
            }
            else if (quote == '"')
            {
                if (c == '"') quote = null;
                yield return c == '"' ? (Lexeme.Quote, "", i) : (Lexeme.Literal, c.ToString(), i);
            }
            else if (c is '\'' or '"')
            {
                quote = c;
                yield return (Lexeme.Quote, "", i);
            }
            else if (c is ';' or '\n') yield return (Lexeme.End, "", i);
            else if (char.IsWhiteSpace(c)) yield return (Lexeme.Blank, "", i);
            else yield return (Lexeme.Literal, c.ToString(), i);
        }
        if (quote is { } open) yield return (Lexeme.Unterminated, open.ToString(), script.Length);
    }

    /// <summary>Splits one command into words.</summary>
    /// <exception cref="FormatException">A quote is not closed.</exception>
    public static string[] Words(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var inWord = false;
        foreach (var (kind, text, _) in Scan(line))
        {
            switch (kind)
            {
                case Lexeme.Literal:
                    current.Append(text);
                    inWord = true;
                    break;
                case Lexeme.Quote:
                    inWord = true;
                    break;
                case Lexeme.Unterminated:
                    throw new FormatException($"unterminated {text} quote");
                default:
                    if (inWord) words.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                    break;
            }
        }
        if (inWord) words.Add(current.ToString());
        return [.. words];
    }

    /// <summary>Splits a script into its commands, each as written (a quoted or escaped ';' stays); never fails.</summary>
    public static IEnumerable<string> Commands(string script)
    {
        var start = 0;
        foreach (var (kind, _, at) in Scan(script))
        {
            if (kind != Lexeme.End) continue;
            yield return script[start..at];
            start = at + 1;
        }
        yield return script[start..];
    }
}
