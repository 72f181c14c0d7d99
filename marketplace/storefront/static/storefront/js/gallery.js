/* Product photos: a thumbnail scrolls the photo strip sideways instead of jumping the page. */
(function () {
  document.querySelectorAll(".gallery__thumbs a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var slide = document.getElementById(link.getAttribute("href").slice(1));
      if (!slide) return;
      event.preventDefault();
      var track = slide.parentElement;
      track.scrollTo({ left: slide.offsetLeft - track.offsetLeft, behavior: "smooth" });
    });
  });
})();
