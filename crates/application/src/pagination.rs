//! Page-number pagination, as Django REST Framework does it.

/// Largest page size accepted; bigger requests are capped.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// A page asked for: 1-based number and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// 1-based page number.
    pub number: u64,
    /// Items per page, 1..=100.
    pub size: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { number: 1, size: DEFAULT_PAGE_SIZE }
    }
}

impl PageRequest {
    /// A page; the size is capped at [`MAX_PAGE_SIZE`] and at least 1, the
    /// number at least 1.
    pub fn new(number: u64, size: u64) -> Self {
        Self { number: number.max(1), size: size.clamp(1, MAX_PAGE_SIZE) }
    }

    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.number - 1).saturating_mul(self.size)
    }
}

/// One page of results and the total count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Items in all pages.
    pub total: u64,
    /// The page this is.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Whether a page follows this one.
    pub fn has_next(&self) -> bool {
        self.request.offset() + (self.items.len() as u64) < self.total
    }

    /// Whether a page precedes this one.
    pub fn has_previous(&self) -> bool {
        self.request.number > 1
    }

    /// The number of the last page (1 when empty).
    pub fn last_page(&self) -> u64 {
        self.total.div_ceil(self.request.size).max(1)
    }
}
