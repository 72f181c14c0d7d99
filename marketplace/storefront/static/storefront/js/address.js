// The delivery address: once a province is chosen, its cities are offered (a datalist, so the buyer may
// still type); once a city is chosen, its counties. The server checks the same region tree.
(function () {
  "use strict";
  var cities = document.getElementById("cities");
  var counties = document.getElementById("counties");
  if (!cities || !counties) { return; }
  var province = document.querySelector("input[list=provinces]");
  var city = document.querySelector("input[list=cities]");
  var url = cities.dataset.url;

  function fill(list, names) {
    list.innerHTML = "";
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      list.appendChild(option);
    });
  }
  function load(list, params) {
    fetch(url + "?" + new URLSearchParams(params).toString(), {headers: {Accept: "application/json"}})
      .then(function (response) { return response.ok ? response.json() : {names: []}; })
      .then(function (answer) { fill(list, answer.names || []); })
      .catch(function () { fill(list, []); });
  }
  function provinceChanged() {
    if (province.value.trim()) { load(cities, {province: province.value.trim()}); }
    fill(counties, []);
  }
  function cityChanged() {
    if (province.value.trim() && city.value.trim()) {
      load(counties, {province: province.value.trim(), city: city.value.trim()});
    }
  }
  province.addEventListener("change", provinceChanged);
  city.addEventListener("change", cityChanged);
  // A saved address fills the form in one tap; the buyer can still change any field.
  document.querySelectorAll("[data-testid=saved-address]").forEach(function (button) {
    button.addEventListener("click", function () {
      ["recipient", "phone", "province", "city", "county", "street"].forEach(function (name) {
        var input = document.querySelector("[name=" + name + "]");
        if (input) { input.value = button.dataset[name] || ""; }
      });
      provinceChanged();
      cityChanged();
    });
  });
  if (province.value) { provinceChanged(); }
  if (city.value) { cityChanged(); }
}());
