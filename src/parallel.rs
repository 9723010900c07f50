//! CPU-parallel work outside polars' own pool.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// Stack of each worker: polars queries nest deeply (a join of joins of scans...).
const WORKER_STACK: usize = 64 << 20;

/// `f` of every item, on one plain thread per core taking the next item as it gets free;
/// the results in item order, or the first error in item order.
///
/// Plain threads, not rayon tasks: a rayon worker blocked in a polars query steals further
/// tasks onto its own stack, nesting as deep as there are items.
pub fn map_in_order<T: Sync, R: Send>(
    name: &str,
    items: &[T],
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    map_in_order_from(name, items, |_| false, f)
}

/// [`map_in_order`], starting with the items for which `first` holds (the slow ones, when
/// known: one left for last would run alone on one core while the others sit idle).
pub fn map_in_order_from<T: Sync, R: Send>(
    name: &str,
    items: &[T],
    first: impl Fn(&T) -> bool,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let (mut order, later): (Vec<usize>, Vec<usize>) =
        (0..items.len()).partition(|&i| first(&items[i]));
    order.extend(later);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<R>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            std::thread::Builder::new()
                .name(format!("permaudit-{name}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, || {
                    while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let Some(item) = items.get(i) else { break };
                        let r = f(item);
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(r);
                        }
                    }
                })
                .map_err(|e| Error::Internal(format!("cannot start a worker thread: {e}")))?;
        }
        Ok(())
    })?;
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| Err(Error::Internal(format!("a {name} worker failed"))))
        })
        .collect()
}

/// `a` on this thread and `b` on a plain worker thread at the same time; both results, or
/// the first error (`a`'s before `b`'s).
pub fn join<A, B: Send>(
    name: &str,
    a: impl FnOnce() -> Result<A>,
    b: impl FnOnce() -> Result<B> + Send,
) -> Result<(A, B)> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name(format!("permaudit-{name}"))
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, b)
            .map_err(|e| Error::Internal(format!("cannot start a worker thread: {e}")))?;
        let a = a();
        let b = worker
            .join()
            .map_err(|_| Error::Internal(format!("a {name} worker failed")))?;
        Ok((a?, b?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The items `first` picks are started before the others (the new day's partition
    /// before the stored ones), and the results still come in item order.
    #[test]
    fn the_first_items_start_first_and_results_keep_item_order() -> Result<()> {
        let items: Vec<usize> = (0..6).collect();
        let started = Mutex::new(Vec::new());
        let squares = map_in_order_from(
            "test",
            &items,
            |&i| i >= 4,
            |&i| {
                if let Ok(mut s) = started.lock() {
                    s.push(i);
                }
                Ok(i * i)
            },
        )?;
        assert_eq!(squares, [0, 1, 4, 9, 16, 25]);
        let started = started
            .into_inner()
            .map_err(|_| Error::Internal("lock poisoned".into()))?;
        assert!(started[0] >= 4, "{started:?}");
        assert_eq!(started.len(), items.len());
        Ok(())
    }
}
