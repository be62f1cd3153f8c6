//! Reading Markdown into blocks, keeping prose and dropping markup.
//!
//! Handles the constructs that matter for learning material: ATX and underlined headings,
//! paragraphs, list items, block quotes, tables (each row becomes `cell – cell`), front matter
//! (its `title:` is used), fenced code (dropped: code is not prose) and inline markup (emphasis,
//! code spans, links, images, HTML tags, escapes). It is a line-based reader, not a CommonMark
//! implementation; unusual markup degrades to slightly noisy text, never to an error.

use crate::extract::assemble::{Block, clean_inline};

/// Blocks of a Markdown document and the front-matter title, if any.
pub(crate) fn blocks(text: &str) -> (Vec<Block>, Option<String>) {
    let mut reader = Reader::default();
    let mut lines = text.lines().peekable();

    let mut title = None;
    if lines.peek().is_some_and(|line| line.trim() == "---") {
        lines.next();
        for line in lines.by_ref() {
            let line = line.trim();
            if line == "---" || line == "..." {
                break;
            }
            if let Some(value) = line.strip_prefix("title:") {
                title = Some(value.trim().trim_matches(['"', '\'']).to_owned());
            }
        }
    }

    let mut fence: Option<&str> = None;
    for line in lines {
        let trimmed = line.trim();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                fence = None;
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            reader.flush();
            fence = Some(marker);
            continue;
        }
        reader.line(line);
    }
    reader.flush();
    (reader.blocks, title)
}

#[derive(Default)]
struct Reader {
    blocks: Vec<Block>,
    paragraph: Vec<String>,
}

impl Reader {
    fn line(&mut self, raw: &str) {
        let mut line = raw.trim();
        while let Some(rest) = line.strip_prefix('>') {
            line = rest.trim_start();
        }

        if line.is_empty() {
            self.flush();
            return;
        }
        if let Some((level, heading)) = atx_heading(line) {
            self.flush();
            self.blocks.push(Block::Heading {
                level,
                text: inline(heading),
            });
            return;
        }
        if let Some(level) = underline(line)
            && !self.paragraph.is_empty()
        {
            let text = self.paragraph.join(" ");
            self.paragraph.clear();
            self.blocks.push(Block::Heading { level, text });
            return;
        }
        if is_thematic_break(line) || is_reference_definition(line) || is_comment(line) {
            self.flush();
            return;
        }
        if line.starts_with('|') {
            self.flush();
            if let Some(row) = table_row(line) {
                self.blocks.push(Block::Paragraph(row));
            }
            return;
        }
        if let Some(item) = list_item(line) {
            self.flush();
            let unchecked = item
                .strip_prefix("[ ] ")
                .or_else(|| item.strip_prefix("[x] "));
            self.paragraph.push(inline(unchecked.unwrap_or(item)));
            return;
        }
        self.paragraph.push(inline(line));
    }

    fn flush(&mut self) {
        if !self.paragraph.is_empty() {
            self.blocks.push(Block::Paragraph(self.paragraph.join(" ")));
            self.paragraph.clear();
        }
    }
}

fn atx_heading(line: &str) -> Option<(u8, &str)> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &line[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    let text = rest.trim().trim_end_matches('#').trim_end();
    Some((hashes as u8, text))
}

fn underline(line: &str) -> Option<u8> {
    if line.len() >= 2 && line.chars().all(|c| c == '=') {
        Some(1)
    } else if line.len() >= 2 && line.chars().all(|c| c == '-') {
        Some(2)
    } else {
        None
    }
}

fn is_thematic_break(line: &str) -> bool {
    let marks: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ['-', '*', '_']
            .iter()
            .any(|mark| marks.chars().all(|c| c == *mark))
}

fn is_reference_definition(line: &str) -> bool {
    line.starts_with('[') && line.contains("]:") && !line.starts_with("[^")
}

fn is_comment(line: &str) -> bool {
    line.starts_with("<!--") && line.ends_with("-->")
}

fn list_item(line: &str) -> Option<&str> {
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = line.strip_prefix(bullet) {
            return Some(rest.trim_start());
        }
    }
    let digits = line.chars().take_while(char::is_ascii_digit).count();
    if (1..=3).contains(&digits) {
        let rest = &line[digits..];
        if let Some(text) = rest.strip_prefix(". ").or_else(|| rest.strip_prefix(") ")) {
            return Some(text.trim_start());
        }
    }
    None
}

fn table_row(line: &str) -> Option<String> {
    let cells: Vec<String> = line
        .trim_matches('|')
        .split('|')
        .map(|cell| inline(cell.trim()))
        .filter(|cell| !cell.is_empty())
        .collect();
    let separator = cells
        .iter()
        .all(|cell| cell.chars().all(|c| matches!(c, '-' | ':' | ' ')));
    (!cells.is_empty() && !separator).then(|| cells.join(" – "))
}

/// Removes inline markup: emphasis, code spans, links, images, tags, escapes, footnote marks.
pub(crate) fn inline(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut output = String::with_capacity(text.len());
    let mut index = 0;

    while index < characters.len() {
        let character = characters[index];
        let previous = index.checked_sub(1).map(|i| characters[i]);
        let next = characters.get(index + 1).copied();
        match character {
            '\\' if next.is_some_and(|c| c.is_ascii_punctuation()) => {
                output.extend(next);
                index += 2;
            }
            '!' if next == Some('[') => index += 1,
            '[' if next == Some('^') => {
                index = skip_past(&characters, index, ']');
            }
            '[' => {
                if let Some((label_end, after)) = link_end(&characters, index) {
                    output.extend(&characters[index + 1..label_end]);
                    index = after;
                } else {
                    output.push(character);
                    index += 1;
                }
            }
            '<' if next.is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
                && characters[index..].contains(&'>') =>
            {
                let end = skip_past(&characters, index, '>');
                let inner: String = characters[index + 1..end - 1].iter().collect();
                if inner.contains("://") || inner.contains('@') {
                    output.push_str(&inner);
                }
                index = end;
            }
            '`' | '~' => index += 1,
            '*' | '_' => {
                let word_before = previous.is_some_and(char::is_alphanumeric);
                let word_after = next.is_some_and(char::is_alphanumeric);
                let inside_word = character == '_' && word_before && word_after;
                let spaced = previous.is_none_or(char::is_whitespace)
                    && next.is_none_or(char::is_whitespace);
                if inside_word || spaced {
                    output.push(character);
                }
                index += 1;
            }
            _ => {
                output.push(character);
                index += 1;
            }
        }
    }
    clean_inline(&output)
}

/// Index just past the next `closing` character, or the end of the text.
fn skip_past(characters: &[char], from: usize, closing: char) -> usize {
    characters[from..]
        .iter()
        .position(|&c| c == closing)
        .map_or(characters.len(), |at| from + at + 1)
}

/// For `[label](target)` or `[label][ref]` starting at `open`: the index of `]` and the index
/// just past the link.
fn link_end(characters: &[char], open: usize) -> Option<(usize, usize)> {
    let label_end = open + characters[open..].iter().position(|&c| c == ']')?;
    match characters.get(label_end + 1) {
        Some('(') => {
            let close =
                label_end + 1 + characters[label_end + 1..].iter().position(|&c| c == ')')?;
            Some((label_end, close + 1))
        }
        Some('[') => {
            let close =
                label_end + 1 + characters[label_end + 1..].iter().position(|&c| c == ']')?;
            Some((label_end, close + 1))
        }
        _ => Some((label_end, label_end + 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_is_removed_and_prose_kept() {
        assert_eq!(
            inline("**Chlorophyll** is a _green_ pigment in `chloroplasts`."),
            "Chlorophyll is a green pigment in chloroplasts."
        );
        assert_eq!(
            inline("See [the guide](https://example.org) and ![a leaf](leaf.png)."),
            "See the guide and a leaf."
        );
        assert_eq!(
            inline("snake_case stays, 2 * 3 stays"),
            "snake_case stays, 2 * 3 stays"
        );
        assert_eq!(
            inline("Escaped \\*star\\* and a<br/>break"),
            "Escaped *star* and abreak"
        );
        assert_eq!(inline("A claim[^1] with a note."), "A claim with a note.");
        assert_eq!(inline("if a<b then c"), "if a<b then c");
    }

    #[test]
    fn structure_becomes_headings_paragraphs_and_rows() {
        let text = "---\ntitle: \"Plants\"\n---\n# Leaves #\n\nLeaves are\n*green*.\n\n\
                    Roots\n-----\n\n- water\n- carbon dioxide\n\n```\nlet x = 1;\n```\n\n\
                    | Term | Meaning |\n|---|---|\n| Stoma | a pore in a leaf |\n\n> Quoted text.\n\n---\n";
        let (blocks, title) = blocks(text);
        assert_eq!(title.as_deref(), Some("Plants"));
        assert_eq!(
            blocks,
            vec![
                Block::Heading {
                    level: 1,
                    text: "Leaves".into()
                },
                Block::Paragraph("Leaves are green.".into()),
                Block::Heading {
                    level: 2,
                    text: "Roots".into()
                },
                Block::Paragraph("water".into()),
                Block::Paragraph("carbon dioxide".into()),
                Block::Paragraph("Term – Meaning".into()),
                Block::Paragraph("Stoma – a pore in a leaf".into()),
                Block::Paragraph("Quoted text.".into()),
            ]
        );
    }

    #[test]
    fn a_hash_without_a_space_is_not_a_heading() {
        let (blocks, _) = blocks("#hashtag text");
        assert_eq!(blocks, vec![Block::Paragraph("#hashtag text".into())]);
    }
}
