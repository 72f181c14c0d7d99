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
