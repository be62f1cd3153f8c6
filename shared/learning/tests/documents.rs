//! Extraction of every supported format and every refusal, on documents built in the tests.

mod support;

use packforge_learning::{
    ArchiveLimits, DocumentKind, Error, ExtractOptions, ExtractedDocument, extract,
};
use support::fixtures::{self, Paragraph};

fn read(bytes: &[u8], key: &str) -> Result<ExtractedDocument, Error> {
    extract(bytes, key, &ExtractOptions::default())
}

fn kind_of(result: Result<ExtractedDocument, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.kind(),
    }
}

#[test]
fn a_text_pdf_yields_its_text_headings_and_title_without_page_furniture() {
    let bytes = fixtures::water_cycle_pdf(8);
    let document = read(&bytes, "uploads/notes.pdf").expect("pdf extracts");

    assert_eq!(document.kind, DocumentKind::Pdf);
    assert_eq!(document.pages, Some(8));
    assert_eq!(document.title.as_deref(), Some("The Water Cycle"));
    assert!(
        document
            .text
            .contains("Evaporation is the process by which liquid water turns into water vapour.")
    );
    assert!(
        !document.text.contains("Earth Science Notes"),
        "running header kept"
    );
    assert!(
        document
            .text
            .lines()
            .all(|line| line.trim().parse::<u32>().is_err()),
        "page number kept"
    );

    let headings: Vec<&str> = document
        .sections
        .iter()
        .filter_map(|section| section.heading.as_deref())
        .collect();
    assert!(headings.contains(&"Condensation (part 1)"), "{headings:?}");
    for section in &document.sections {
        assert_eq!(
            &document.text[section.offset..section.offset + section.text.len()],
            section.text
        );
    }
}

#[test]
fn wrapped_pdf_lines_are_joined_into_whole_sentences() {
    let bytes = fixtures::water_cycle_pdf(4);
    let document = read(&bytes, "notes.pdf").expect("pdf extracts");
    assert!(document.text.contains(
        "A cloud is a visible mass of tiny water droplets or ice crystals suspended in the air."
    ));
}

#[test]
fn a_pdf_that_needs_a_password_is_refused_as_encrypted() {
    let pages = vec![fixtures::wrap(
        &"Secret notes about the water cycle. ".repeat(20),
        80,
    )];
    let bytes = fixtures::encrypted_pdf(&pages, "letmein");
    assert_eq!(kind_of(read(&bytes, "secret.pdf")), "encrypted_pdf");
}

#[test]
fn a_pdf_encrypted_with_an_empty_user_password_is_read_like_any_other() {
    let sentence = "Permission-only protection still lets every reader open this file. ";
    let pages = vec![fixtures::wrap(&sentence.repeat(10), 80)];
    let bytes = fixtures::encrypted_pdf(&pages, "");
    let document = read(&bytes, "protected.pdf").expect("opens without a password");
    assert!(document.text.contains("Permission-only protection"));
}

#[test]
fn a_pdf_trailer_pointing_at_a_missing_encryption_dictionary_is_refused_as_encrypted() {
    let bytes = fixtures::pdf_with_broken_encrypt_trailer();
    assert_eq!(kind_of(read(&bytes, "odd.pdf")), "encrypted_pdf");
}

#[test]
fn a_damaged_pdf_is_refused_as_corrupt() {
    let whole = fixtures::water_cycle_pdf(2);
    for damaged in [
        b"%PDF-1.7\nthis is not a pdf body at all".to_vec(),
        whole[..whole.len() / 3].to_vec(),
    ] {
        assert_eq!(kind_of(read(&damaged, "broken.pdf")), "corrupt_document");
    }
}

#[test]
fn an_image_only_pdf_is_refused_as_empty() {
    let bytes = fixtures::image_only_pdf(3);
    let error = read(&bytes, "scan.pdf").err();
    assert!(
        matches!(error, Some(Error::EmptyDocument { words: 0, .. })),
        "{error:?}"
    );
}

#[test]
fn a_docx_yields_its_title_headings_and_paragraphs() {
    let bytes = fixtures::docx(&[
        Paragraph {
            style: Some("Title"),
            text: "Rocks & Minerals",
        },
        Paragraph {
            style: Some("Heading1"),
            text: "Igneous Rock",
        },
        Paragraph {
            style: None,
            text: "Igneous rock is rock that forms when molten magma cools and hardens. \
                   Granite and basalt are common examples found all over the world.",
        },
        Paragraph {
            style: Some("Heading2"),
            text: "Sedimentary Rock",
        },
        Paragraph {
            style: None,
            text: "Sedimentary rock forms from layers of sand, mud and shells pressed together \
                   over millions of years at the bottom of lakes and seas.",
        },
    ]);
    let document = read(&bytes, "uploads/rocks.docx").expect("docx extracts");

    assert_eq!(document.kind, DocumentKind::Docx);
    assert_eq!(document.title.as_deref(), Some("Rocks & Minerals"));
    let headings: Vec<(Option<&str>, u8)> = document
        .sections
        .iter()
        .map(|section| (section.heading.as_deref(), section.level))
        .collect();
    assert_eq!(
        headings,
        [
            (Some("Rocks & Minerals"), 1),
            (Some("Igneous Rock"), 1),
            (Some("Sedimentary Rock"), 2)
        ]
    );
    assert!(
        document
            .text
            .contains("Igneous rock is rock that forms when molten magma cools")
    );
}

#[test]
fn a_docx_bomb_is_refused_before_it_inflates() {
    let bytes = fixtures::docx_bomb(8 * 1024 * 1024);
    assert!(
        bytes.len() < 100 * 1024,
        "fixture should be small: {}",
        bytes.len()
    );
    let error = read(&bytes, "bomb.docx").err();
    assert!(
        matches!(
            error,
            Some(Error::UnsafeArchive {
                limit: "compression_ratio",
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_docx_over_the_uncompressed_limit_is_refused() {
    let bytes = fixtures::docx_bomb(300 * 1024);
    let options = ExtractOptions {
        archive: ArchiveLimits {
            max_uncompressed_bytes: 100 * 1024,
            ..ArchiveLimits::default()
        },
        ..ExtractOptions::default()
    };
    let error = extract(&bytes, "big.docx", &options).err();
    assert!(
        matches!(
            error,
            Some(Error::UnsafeArchive {
                limit: "uncompressed_bytes",
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_docx_with_too_many_entries_is_refused() {
    let bytes = fixtures::docx_with_many_entries(2_100);
    let error = read(&bytes, "many.docx").err();
    assert!(
        matches!(
            error,
            Some(Error::UnsafeArchive {
                limit: "entries",
                ..
            })
        ),
        "{error:?}"
    );
}

#[test]
fn a_docx_with_malformed_xml_is_refused_as_corrupt() {
    let bytes = fixtures::docx_with_document_xml("<w:document><w:body><w:p><w:t>open");
    assert_eq!(kind_of(read(&bytes, "broken.docx")), "corrupt_document");
}

#[test]
fn a_truncated_docx_is_refused_as_corrupt() {
    let whole = fixtures::docx(&[Paragraph {
        style: None,
        text: "Some text",
    }]);
    let truncated = &whole[..whole.len() / 2];
    assert_eq!(kind_of(read(truncated, "cut.docx")), "corrupt_document");
}

#[test]
fn a_zip_that_is_not_a_word_document_is_unsupported() {
    let bytes = fixtures::zip_archive(&[("xl/workbook.xml", b"<workbook/>")]);
    assert_eq!(kind_of(read(&bytes, "sheet.xlsx")), "unsupported_type");
}

#[test]
fn images_and_random_bytes_are_unsupported_whatever_their_name() {
    assert_eq!(
        kind_of(read(&fixtures::png_header(), "notes.pdf")),
        "unsupported_type"
    );
    assert_eq!(
        kind_of(read(&fixtures::noise(10_000, 7), "notes.txt")),
        "unsupported_type"
    );
}

#[test]
fn latin1_text_is_refused_and_utf16_text_is_read() {
    let latin1: Vec<u8> = "Caf\u{e9} ".repeat(40).chars().map(|c| c as u8).collect();
    assert_eq!(kind_of(read(&latin1, "menu.txt")), "invalid_encoding");

    let text = "Évaporation turns water into vapour under the heat of the sun. ".repeat(5);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let document = read(&utf16, "notes.txt").expect("utf-16 text extracts");
    assert!(document.text.starts_with("Évaporation turns water"));
}

#[test]
fn objects_over_the_size_limit_are_refused() {
    let options = ExtractOptions {
        max_bytes: 1_000,
        ..ExtractOptions::default()
    };
    let bytes = fixtures::water_cycle_pdf(2);
    let error = extract(&bytes, "big.pdf", &options).err();
    assert!(
        matches!(error, Some(Error::TooLarge { max: 1_000, .. })),
        "{error:?}"
    );
}

#[test]
fn every_refusal_explains_itself_in_lowercase() {
    let refusals = [
        read(&fixtures::png_header(), "a.png"),
        read(&fixtures::image_only_pdf(1), "a.pdf"),
        read(&fixtures::docx_bomb(8 * 1024 * 1024), "a.docx"),
    ];
    for refusal in refusals {
        let message = refusal
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(
            message.starts_with(|c: char| c.is_lowercase() || c == '`'),
            "{message}"
        );
        assert!(message.contains('`'), "{message}");
    }
}
