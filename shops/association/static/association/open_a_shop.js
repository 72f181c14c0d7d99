// The application form's place pickers: the town list shows the chosen county's towns, the village list
// the chosen town's villages (their option groups are labelled with the parent's name). Without script,
// every group shows and the server checks that they fit.
(function () {
    "use strict";
    function narrow(parentSelect, childSelect, labelOf) {
        if (!parentSelect || !childSelect) { return; }
        function apply() {
            var chosen = parentSelect.options[parentSelect.selectedIndex];
            var label = chosen && chosen.value ? labelOf(chosen) : null;
            Array.prototype.forEach.call(childSelect.querySelectorAll("optgroup"), function (group) {
                var fits = label === null || group.label === label;
                group.hidden = !fits;
                group.disabled = !fits;
            });
            var selected = childSelect.options[childSelect.selectedIndex];
            if (selected && selected.parentNode.disabled) { childSelect.value = ""; }
            childSelect.dispatchEvent(new Event("change"));
        }
        parentSelect.addEventListener("change", apply);
        apply();
    }
    var county = document.getElementById("id_county");
    var town = document.getElementById("id_town");
    var village = document.getElementById("id_village");
    narrow(county, town, function (option) { return option.textContent.trim(); });
    narrow(town, village, function (option) { return option.textContent.trim(); });
}());

// The photos chosen must fit in one post (the server refuses a larger one unread): check before sending,
// and say so on the page instead of losing what was typed.
(function () {
    "use strict";
    var form = document.querySelector("[data-testid=application-form]");
    if (!form || !form.dataset.maxBytes) { return; }
    var limit = parseInt(form.dataset.maxBytes, 10);
    var alert = form.querySelector("[data-testid=photos-too-large]");
    function chosenBytes() {
        var total = 0;
        Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
            Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
        });
        return total;
    }
    function check() {
        var tooLarge = chosenBytes() > limit;
        alert.hidden = !tooLarge;
        alert.textContent = tooLarge ? form.dataset.tooLarge : "";
        return !tooLarge;
    }
    form.addEventListener("change", function (event) {
        if (event.target.type === "file") { check(); }
    });
    form.addEventListener("submit", function (event) {
        if (!check()) {
            event.preventDefault();
            alert.scrollIntoView({block: "center"});
        }
    });
}());
