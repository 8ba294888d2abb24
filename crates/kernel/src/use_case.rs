//! The one shape of a use case, shared by every bounded context.

/// Declares a context's use cases: for each name, `pub struct Name { ports:
/// Ports }` and `Name::new(ports: Ports)`, with the doc comments written
/// before the name.
///
/// Why it exists: a use case is a plain struct built from its context's
/// ports bundle (`ChantierPorts { chantiers, clock }`, see
/// `docs/CONTEXT_TEMPLATE.md` §3), and every context writes it the same
/// way — one field `ports`, one `new(ports)`, then its own `impl` with
/// `execute`. One macro keeps that shape identical everywhere (and the
/// wiring identical: `Name::new(ports.clone())`), instead of one hand-written
/// copy per use case or per context.
///
/// ```
/// #[derive(Clone)]
/// pub struct ShopPorts {
///     pub stock: u32,
/// }
///
/// hub_kernel::use_cases! {
///     ShopPorts;
///     /// Sells one item.
///     Sell,
///     /// How many are left.
///     CountStock,
/// }
///
/// impl CountStock {
///     pub fn execute(&self) -> u32 {
///         self.ports.stock
///     }
/// }
///
/// let ports = ShopPorts { stock: 3 };
/// let _sell = Sell::new(ports.clone());
/// assert_eq!(CountStock::new(ports).execute(), 3);
/// ```
#[macro_export]
macro_rules! use_cases {
    ($ports:ty; $($(#[$doc:meta])* $name:ident),+ $(,)?) => {
        $(
            $(#[$doc])*
            pub struct $name {
                ports: $ports,
            }

            impl $name {
                pub fn new(ports: $ports) -> Self {
                    Self { ports }
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    #[derive(Debug, Clone, PartialEq)]
    pub struct Ports {
        pub name: &'static str,
    }

    crate::use_cases! {
        Ports;
        /// The first one.
        First,
        Second
    }

    /// The shape every context relies on: a struct whose only field is
    /// `ports` (the exhaustive patterns fail to compile if a field is added,
    /// renamed or made a tuple field), built by `new(ports)`.
    #[test]
    fn each_name_is_a_struct_holding_its_ports_built_by_new() {
        let ports = Ports { name: "p" };
        let First { ports: first } = First::new(ports.clone());
        let Second { ports: second } = Second::new(ports.clone());
        assert_eq!(first, ports);
        assert_eq!(second, ports);
        let new: fn(Ports) -> First = First::new;
        assert_eq!(new(ports.clone()).ports, ports);
    }
}
