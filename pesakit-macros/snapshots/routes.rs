fn table() -> ::pesakit::Routes {
    const _: () = {
        if ::pesakit::__private::str_eq(
            <paid as ::pesakit::__private::Handler>::PATH,
            <payments::validate as ::pesakit::__private::Handler>::PATH,
        ) {
            ::pesakit::__private::panic!(
                "`paid` and `payments::validate` serve the same callback path; give one of them another path"
            );
        }
        if ::pesakit::__private::str_eq(
            <paid as ::pesakit::__private::Handler>::PATH,
            <timeout as ::pesakit::__private::Handler>::PATH,
        ) {
            ::pesakit::__private::panic!(
                "`paid` and `timeout` serve the same callback path; give one of them another path"
            );
        }
        if ::pesakit::__private::str_eq(
            <payments::validate as ::pesakit::__private::Handler>::PATH,
            <timeout as ::pesakit::__private::Handler>::PATH,
        ) {
            ::pesakit::__private::panic!(
                "`payments::validate` and `timeout` serve the same callback path; give one of them another path"
            );
        }
    };
    ::pesakit::__private::Routes::from_checked([
        ::pesakit::__private::Handler::route(paid {}),
        ::pesakit::__private::Handler::route(payments::validate {}),
        ::pesakit::__private::Handler::route(timeout {}),
    ])
}
