//! Documents built in code for tests and the benchmark, so no binary fixture is checked in.
//!
//! PDFs are written with `lopdf` (Helvetica, WinAnsi encoding, one text object per line, as
//! simple producers do); DOCX files are zip archives with the three parts Word needs. Builders
//! panic on failure: they only ever run in tests and benchmarks.

// Each test binary and the benchmark use a different subset of these builders.
#![allow(dead_code)]

use std::io::{Cursor, Write};

use lopdf::content::{Content, Operation};
use lopdf::{
    Document, EncryptionState, EncryptionVersion, Object, Permissions, Stream, dictionary,
};
use zip::write::SimpleFileOptions;

const PAGE_TOP: i64 = 780;
const LINE_HEIGHT: i64 = 14;

/// A PDF with one page per entry, each line of text on its own line of the page.
pub fn pdf(pages: &[Vec<String>], title: Option<&str>) -> Vec<u8> {
    let mut document = build_pdf(pages, title);
    save(&mut document)
}

/// A PDF whose pages draw nothing but a filled rectangle, like a scan without text.
pub fn image_only_pdf(pages: usize) -> Vec<u8> {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let mut kids = Vec::new();
    for _ in 0..pages {
        let content = Content {
            operations: vec![
                Operation::new("re", vec![50.into(), 50.into(), 400.into(), 600.into()]),
                Operation::new("f", vec![]),
            ],
        };
        let content_id = document.add_object(Stream::new(dictionary! {}, encode(&content)));
        kids.push(Object::from(document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
        })));
    }
    finish_pages(&mut document, pages_id, kids, None);
    save(&mut document)
}

/// A PDF that needs `user_password` to be read (RC4, 128-bit key).
pub fn encrypted_pdf(pages: &[Vec<String>], user_password: &str) -> Vec<u8> {
    let mut document = build_pdf(pages, None);
    let state = EncryptionState::try_from(EncryptionVersion::V2 {
        document: &document,
        owner_password: "owner-secret",
        user_password,
        key_length: 128,
        permissions: Permissions::default(),
    })
    .expect("encryption state for the fixture");
    document.encrypt(&state).expect("fixture encrypts");
    save(&mut document)
}

/// A PDF whose trailer points at an encryption dictionary that is not there.
pub fn pdf_with_broken_encrypt_trailer() -> Vec<u8> {
    let mut bytes = pdf(&[vec!["Plain text on a page.".to_owned()]], None);
    // lopdf writes a cross-reference stream, whose dictionary is the trailer; it comes after
    // every object it indexes, so inserting into it moves no object offset.
    let trailer = find(&bytes, b"<</Root").expect("fixture has a trailer dictionary") + 2;
    bytes.splice(trailer..trailer, b"/Encrypt 999 0 R".iter().copied());
    bytes
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn build_pdf(pages: &[Vec<String>], title: Option<&str>) -> Document {
    let mut document = Document::with_version("1.5");
    let pages_id = document.new_object_id();
    let font_id = document.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = document.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });

    let mut kids = Vec::new();
    for lines in pages {
        let mut operations = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            let y = PAGE_TOP - LINE_HEIGHT * index as i64;
            operations.extend([
                Operation::new("BT", vec![]),
                Operation::new("Tf", vec!["F1".into(), 11.into()]),
                Operation::new("Td", vec![72.into(), y.into()]),
                Operation::new("Tj", vec![Object::string_literal(line.as_str())]),
                Operation::new("ET", vec![]),
            ]);
        }
        let content = Content { operations };
        let content_id = document.add_object(Stream::new(dictionary! {}, encode(&content)));
        kids.push(Object::from(document.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => resources_id,
        })));
    }
    finish_pages(&mut document, pages_id, kids, title);
    document
}

fn finish_pages(
    document: &mut Document,
    pages_id: lopdf::ObjectId,
    kids: Vec<Object>,
    title: Option<&str>,
) {
    let count = kids.len() as i64;
    document.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = document.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    document.trailer.set("Root", catalog_id);
    document.trailer.set(
        "ID",
        vec![
            Object::string_literal("packforge-fixture-1"),
            Object::string_literal("packforge-fixture-1"),
        ],
    );
    if let Some(title) = title {
        let info_id = document.add_object(dictionary! { "Title" => Object::string_literal(title) });
        document.trailer.set("Info", info_id);
    }
}

fn encode(content: &Content) -> Vec<u8> {
    content.encode().expect("fixture content encodes")
}

fn save(document: &mut Document) -> Vec<u8> {
    // Real producers deflate their content streams; so do the fixtures.
    document.compress();
    let mut bytes = Vec::new();
    document.save_to(&mut bytes).expect("fixture pdf saves");
    bytes
}

/// Wraps text at `width` characters, the way a PDF producer lays out a paragraph.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// A paragraph of a DOCX body: an optional style id (`Title`, `Heading1`, ...) and its text.
pub struct Paragraph<'a> {
    pub style: Option<&'a str>,
    pub text: &'a str,
}

/// A DOCX holding the given paragraphs.
pub fn docx(paragraphs: &[Paragraph<'_>]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|paragraph| {
            let style = paragraph
                .style
                .map(|style| format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>"))
                .unwrap_or_default();
            format!(
                "<w:p>{style}<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                escape(paragraph.text)
            )
        })
        .collect();
    docx_with_document_xml(&document_xml(&body))
}

/// A DOCX whose `word/document.xml` is exactly `xml`.
pub fn docx_with_document_xml(xml: &str) -> Vec<u8> {
    zip_archive(&[
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELATIONSHIPS.as_bytes()),
        ("word/document.xml", xml.as_bytes()),
    ])
}

/// A DOCX whose document part inflates from a few kilobytes to `inflated_bytes` of text.
pub fn docx_bomb(inflated_bytes: usize) -> Vec<u8> {
    let filler = "a".repeat(inflated_bytes);
    let xml = document_xml(&format!("<w:p><w:r><w:t>{filler}</w:t></w:r></w:p>"));
    docx_with_document_xml(&xml)
}

/// A valid DOCX padded with `extra` empty entries.
pub fn docx_with_many_entries(extra: usize) -> Vec<u8> {
    let xml = document_xml("<w:p><w:r><w:t>Short text.</w:t></w:r></w:p>");
    let names: Vec<String> = (0..extra)
        .map(|index| format!("customXml/item{index}.xml"))
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELATIONSHIPS.as_bytes()),
        ("word/document.xml", xml.as_bytes()),
    ];
    entries.extend(names.iter().map(|name| (name.as_str(), &b""[..])));
    zip_archive(&entries)
}

/// A zip archive with the given entries, deflated.
pub fn zip_archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        writer
            .start_file(*name, options)
            .expect("fixture zip entry starts");
        writer.write_all(content).expect("fixture zip entry writes");
    }
    writer.finish().expect("fixture zip finishes").into_inner()
}

fn document_xml(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
         <w:body>{body}</w:body></w:document>"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/word/document.xml\" \
ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
</Types>";

const RELATIONSHIPS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" \
Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" \
Target=\"word/document.xml\"/></Relationships>";

/// The first bytes of a PNG image: signature and header chunk.
pub fn png_header() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend([0, 0, 0, 13]);
    bytes.extend(b"IHDR");
    bytes.extend([0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0]);
    bytes.extend([0x1f, 0x15, 0xc4, 0x89]);
    bytes
}

/// Bytes without structure, reproducible from `seed`.
pub fn noise(length: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Study text about the water cycle, one section per entry: (heading, paragraphs).
pub fn water_cycle_sections() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "Evaporation",
            vec![
                "Evaporation is the process by which liquid water turns into water vapour. \
                 The sun heats oceans, lakes and rivers, and the warmest molecules escape into \
                 the air. Most of the water vapour in the atmosphere comes from the oceans.",
                "Transpiration is the release of water vapour from the leaves of plants. A large \
                 tree can give off hundreds of litres of water on a hot summer day.",
            ],
        ),
        (
            "Condensation",
            vec![
                "Condensation is the change of water vapour back into liquid droplets. Rising \
                 air cools as it expands, and cool air cannot hold as much water vapour as warm \
                 air. The dew point is the temperature at which air becomes saturated with water \
                 vapour.",
                "A cloud is a visible mass of tiny water droplets or ice crystals suspended in \
                 the air. Clouds form when condensation happens around small particles of dust \
                 or salt.",
            ],
        ),
        (
            "Precipitation",
            vec![
                "Precipitation is any form of water that falls from clouds to the ground. Rain, \
                 snow, sleet and hail are all kinds of precipitation. Droplets in a cloud collide \
                 and merge until they are heavy enough to fall.",
                "Water that flows over the surface of the land is called runoff. Runoff carries \
                 soil and nutrients into streams, rivers and eventually the sea.",
            ],
        ),
        (
            "Collection",
            vec![
                "Infiltration is the movement of water from the surface into the soil. Water \
                 that soaks deep underground fills the spaces between grains of rock and sand.",
                "An aquifer is a layer of rock or sediment that holds groundwater and lets it \
                 flow. Wells draw drinking water from aquifers in many parts of the world.",
                "Groundwater is the water stored beneath the surface in soil and rock. It can \
                 stay underground for thousands of years before it returns to the surface.",
            ],
        ),
    ]
}

/// A text PDF of `pages` pages about the water cycle: a heading and wrapped paragraphs per
/// page, with a running header and a page number like real reports.
pub fn water_cycle_pdf(pages: usize) -> Vec<u8> {
    let sections = water_cycle_sections();
    let page_lines: Vec<Vec<String>> = (0..pages)
        .map(|page| {
            let (heading, paragraphs) = &sections[page % sections.len()];
            let mut lines = vec!["Earth Science Notes".to_owned()];
            lines.push(format!("{heading} (part {})", page / sections.len() + 1));
            for paragraph in paragraphs {
                lines.extend(wrap(paragraph, 88));
            }
            lines.push(format!("{}", page + 1));
            lines
        })
        .collect();
    pdf(&page_lines, Some("The Water Cycle"))
}
