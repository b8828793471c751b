//! The pages' templates and the view models they render. Values are formatted here, so
//! the templates only place text (askama escapes every value). One module per page
//! family; everything is re-exported here, so pages name `crate::views::X`.

mod account;
mod bookings;
mod cart;
mod checkout;
mod layout;
mod offer;
mod search;

pub use account::AuthPage;
pub use bookings::{BookingBanner, BookingPage, BookingView, BookingsPage, CancelPage, ItemRow};
pub use cart::{CartPage, CartRow, search_again};
pub use checkout::{CheckoutAlert, CheckoutPage, TravellerFields, TravellerKind};
pub use layout::{Action, Choice, FieldError, Layout, MessagePage, error_at};
pub use offer::OfferPage;
pub use search::{
    FlightCard, FlightForm, FlightsPage, HomePage, HotelCard, HotelForm, HotelsPage, SliceView,
    cabins, passengers_text,
};
